"""shopsense.scale"""
