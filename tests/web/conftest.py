"""Browser-test fixtures: a prepared workspace served by a real ``shopsense serve`` and Debian's chromium."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workspace_fixture import prepared_workspace, served, skip_without_chromium  # noqa: E402


@pytest.fixture(scope="session")
def shop_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    skip_without_chromium()
    settings = prepared_workspace(tmp_path_factory.mktemp("web") / "home")
    with served(settings.home, demo=True) as url:
        yield url


@pytest.fixture(scope="session")
def browser(shop_url: str, chromium: object) -> object:
    return chromium
