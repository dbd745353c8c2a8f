"""Data files shipped inside the package: the ToyNest demo store (see demo_store/SOURCE.md)."""

from __future__ import annotations

from pathlib import Path

DEMO_STORE_DIR = Path(__file__).resolve().parent / "demo_store"


def demo_store_path() -> Path:
    """The bundled demo store directory (a store directory `shopsense import` reads); fails if missing."""
    if not (DEMO_STORE_DIR / "items.csv").is_file():
        raise FileNotFoundError(
            f"the demo store is missing from {DEMO_STORE_DIR}; rebuild it with scripts/build_demo_store.py")
    return DEMO_STORE_DIR
