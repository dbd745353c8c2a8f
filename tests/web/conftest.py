"""Browser-test fixtures: a prepared workspace served by a real ``shopsense serve`` and Debian's chromium."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workspace_fixture import prepared_workspace, served, skip_without_chromium, small_store_dir  # noqa: E402


@pytest.fixture(scope="session")
def web_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    skip_without_chromium()
    return prepared_workspace(tmp_path_factory.mktemp("web") / "home").home


@pytest.fixture(scope="session")
def shop_url(web_home: Path) -> Iterator[str]:
    with served(web_home, demo=True) as url:
        yield url




@pytest.fixture(scope="session")
def second_store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Another shop from a store directory of its own: 120 items, euros, German, a picture file per item."""
    skip_without_chromium()
    root = tmp_path_factory.mktemp("brick-and-byte")
    home = prepared_workspace(root / "home", small_store_dir(root / "store")).home
    with served(home) as url:
        yield url


@pytest.fixture(scope="session")
def browser(shop_url: str, chromium: object) -> object:
    return chromium
