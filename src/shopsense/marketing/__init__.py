"""shopsense.marketing"""
