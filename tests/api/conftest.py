"""API test fixtures: one prepared workspace per session (see tests/workspace_fixture.py) and a client."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopsense.api.app import create_app  # noqa: E402
from shopsense.core.settings import Settings  # noqa: E402
from workspace_fixture import API_KEY, copy_workspace, keyed_workspace  # noqa: E402


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return keyed_workspace(tmp_path_factory, "serving")


@pytest.fixture(scope="session")
def client(workspace: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(workspace), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture()
def private_workspace(workspace: Settings, tmp_path: Path) -> Settings:
    """A copy of the prepared workspace that a test may change (store, registry)."""
    return copy_workspace(workspace, tmp_path / "home").model_copy(update={"api_key": API_KEY})


@pytest.fixture(scope="session")
def admin_headers() -> dict[str, str]:
    return {"X-API-Key": API_KEY}
