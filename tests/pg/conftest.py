"""Fixtures of the PostgreSQL tests: the test server (tests/pg_fixture.py) and a database per test, with the
same tests run on SQLite too (``db_url`` is parametrised over both backends)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pg_fixture import admin_url, fresh_database, wait_ready  # noqa: E402


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The admin URL of the one PostgreSQL test server (started once, shared by xdist workers)."""
    url = admin_url()
    wait_ready(url)
    return url


@pytest.fixture()
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test (dropped afterwards)."""
    with fresh_database(pg_admin_url) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with fresh_database(request.getfixturevalue("pg_admin_url")) as url:
        yield url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/pg carries the ``postgres`` marker (``-m postgres`` selects it)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.postgres)
