"""Shared fixtures: paths to the bundled data and to ../shared/data, and the one headless chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """One Playwright-driven chromium per test process: Playwright's sync API allows one running instance,
    so every browser test (storefront, chat widget, admin pages) opens its pages in this one."""
    from workspace_fixture import chromium_browser, skip_without_chromium

    skip_without_chromium()
    with chromium_browser() as browser:
        yield browser
