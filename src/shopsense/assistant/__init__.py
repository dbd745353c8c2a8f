"""shopsense.assistant"""
