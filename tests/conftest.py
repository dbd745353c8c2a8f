"""Shared fixtures: paths to the bundled data and to ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# CI has no terminal: rich would lay tables out 80 columns wide and cut ids short.
os.environ.setdefault("COLUMNS", "200")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data is not beside the repository")
    return SHARED_DATA
