"""shopsense.text"""
