"""shopsense.core"""
