"""shopsense: a self-hostable AI layer for online stores."""

__version__ = "0.1.0"
