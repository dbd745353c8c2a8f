"""shopsense.api"""
