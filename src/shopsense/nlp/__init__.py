"""shopsense.nlp"""
