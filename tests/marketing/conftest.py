"""Marketing test fixtures: one prepared demo workspace per session (tests/workspace_fixture.py), its opinion
index, an API client, and a served workspace for the browser tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopsense.api.app import create_app  # noqa: E402
from shopsense.core.settings import Settings  # noqa: E402
from shopsense.marketing.aspects import OpinionIndex  # noqa: E402
from workspace_fixture import keyed_workspace, served, skip_without_chromium  # noqa: E402


@pytest.fixture(scope="session")
def marketing_workspace(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return keyed_workspace(tmp_path_factory, "marketing")


@pytest.fixture(scope="session")
def opinions(marketing_workspace: Settings) -> OpinionIndex:
    from shopsense.marketing.opinion_store import load_opinions

    return load_opinions(marketing_workspace)


@pytest.fixture(scope="session")
def marketing_client(marketing_workspace: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(marketing_workspace), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def marketing_url(marketing_workspace: Settings) -> Iterator[str]:
    """The prepared workspace served by a real ``shopsense serve`` (browser tests)."""
    skip_without_chromium()
    with served(marketing_workspace.home) as url:
        yield url


@pytest.fixture(scope="session")
def marketing_browser(marketing_url: str, chromium: object) -> object:
    return chromium
