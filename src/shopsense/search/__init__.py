"""Hybrid product search (BM25 + dense) with filters."""

from shopsense.search.engine import ProductSearch, SearchFilters, SearchHit

__all__ = ["ProductSearch", "SearchFilters", "SearchHit"]
