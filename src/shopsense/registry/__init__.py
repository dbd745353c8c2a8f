"""shopsense.registry"""
