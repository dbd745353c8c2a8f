"""The served workspace on PostgreSQL (``SHOPSENSE_DATABASE_URL``): the API reads and writes through it, two
server processes write events to one database at once, acknowledged events survive a SIGKILL of the server,
and the erasure reaches the rows there."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from pg_fixture import fresh_database
from shopsense.api.app import create_app
from shopsense.core.settings import Settings
from shopsense.core.store import Store
from workspace_fixture import API_KEY, free_port, post_events_then_sigkill, prepared_workspace, start_server

# one worker builds the PostgreSQL workspace and runs every test on it (``make test`` uses --dist loadgroup)
pytestmark = pytest.mark.xdist_group("pg-serving")


@pytest.fixture(scope="module")
def pg_workspace(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The prepared demo workspace (tests/workspace_fixture.py) whose store is a PostgreSQL database."""
    with fresh_database(pg_admin_url, prefix="ws") as url:
        previous = os.environ.get("SHOPSENSE_DATABASE_URL")
        os.environ["SHOPSENSE_DATABASE_URL"] = url  # prepared_workspace reads settings from the environment
        try:
            settings = prepared_workspace(tmp_path_factory.mktemp("pg-serving") / "home")
        finally:
            if previous is None:
                os.environ.pop("SHOPSENSE_DATABASE_URL")
            else:
                os.environ["SHOPSENSE_DATABASE_URL"] = previous
        assert settings.db_url == url and not (settings.home / "store.db").exists()
        yield settings.model_copy(update={"api_key": API_KEY})


def _server_env(settings: Settings) -> dict[str, str]:
    return {"SHOPSENSE_DATABASE_URL": settings.db_url, "SHOPSENSE_API_KEY": API_KEY}


def test_the_api_reads_and_writes_through_postgres(pg_workspace: Settings) -> None:
    with Store(pg_workspace.db_url) as store:
        data = store.load()
        before = store.counts()["events"]
    user = str(data.reviews["user_id"].iloc[0])
    item = str(data.items["item_id"].iloc[0])
    with TestClient(create_app(pg_workspace), raise_server_exceptions=False) as client:
        page = client.get(f"/v1/items/{item}")
        assert page.status_code == 200 and page.json()["item_id"] == item
        recs = client.get("/v1/trending").json()["items"]
        assert len(recs) >= 5 and all(r["item_id"] in set(data.items["item_id"]) for r in recs)
        found = client.get("/v1/search", params={"q": str(data.items["title"].iloc[0]).split()[0]}).json()["items"]
        assert found
        eid = uuid.uuid4().hex
        ack = client.post("/v1/events", json={"event_id": eid, "user_id": user, "type": "view", "item_id": item})
        assert ack.status_code == 201 and ack.json()["stored"] == 1
        again = client.post("/v1/events", json={"event_id": eid, "user_id": user, "type": "view", "item_id": item})
        assert again.status_code == 201, again.text
        assert again.json()["duplicates"] == 1
    with Store(pg_workspace.db_url) as store:
        assert store.counts()["events"] == before + 1
        assert eid in set(store.events_since()["event_id"])


def test_two_server_processes_write_events_to_one_database(pg_workspace: Settings) -> None:
    ports = [free_port(), free_port()]
    procs = [start_server(pg_workspace.home, port, env=_server_env(pg_workspace)) for port in ports]
    ids = [uuid.uuid4().hex for _ in range(120)]
    stored: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def client(n: int) -> None:  # both send every id, in opposite orders, in batches of 10
        order = ids if n == 0 else ids[::-1]
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{ports[n]}", timeout=60) as http:
                for b in range(0, len(order), 10):
                    batch = [{"event_id": e, "user_id": f"two-{n}", "type": "click", "item_id": "x"}
                             for e in order[b:b + 10]]
                    r = http.post("/v1/events", json={"events": batch})
                    r.raise_for_status()
                    fresh = len(batch) - r.json()["duplicates"]
                    stored[n].append(fresh)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    try:
        threads = [threading.Thread(target=client, args=(n,)) for n in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)
    assert not errors, errors
    with Store(pg_workspace.db_url) as store:
        events = store.events_since()
    mine = events[events["event_id"].isin(set(ids))]
    assert len(mine) == len(ids) and mine["event_id"].is_unique
    assert sum(map(sum, stored)) == len(ids)  # each id acknowledged as new by exactly one server


def test_acknowledged_events_survive_sigkill(pg_workspace: Settings) -> None:
    acked = post_events_then_sigkill(pg_workspace.home, free_port(), 50, env=_server_env(pg_workspace))
    with Store(pg_workspace.db_url) as store:
        assert set(acked) <= set(store.events_since()["event_id"]) and len(set(acked)) == 50


def test_erasure_reaches_the_postgres_rows(pg_workspace: Settings, pg_admin_url: str, tmp_path: Path) -> None:
    from shopsense.assistant.sessions import SessionStore
    from shopsense.assistant.state import DialogueState
    from shopsense.serving.erasure import erase_user
    from shopsense.serving.workspace import Workspace

    with fresh_database(pg_admin_url, prefix="erase") as url, \
            Store(pg_workspace.db_url) as source:
        data = source.load()
        user = str(data.reviews["user_id"].value_counts().index[0])
        settings = Settings(home=tmp_path / "home", database_url=url)
        settings.ensure_dirs()
        with Workspace(settings) as workspace:
            workspace.store.import_store(data)
            workspace.store.append_events([{"user_id": user, "type": "view"}, {"user_id": "other", "type": "view"}])
            sessions = SessionStore(workspace.store.engine)
            sessions.save(DialogueState(session_id="s-erase", user_id=user))
            report = erase_user(workspace, user, retrain=False)
            assert report.removed["reviews"] >= 2 and report.removed["events"] == 1
            assert report.removed["assistant_sessions"] == 1
        with Store(url) as store:
            back = store.load()
            for name in ("interactions", "reviews", "orders", "users"):
                assert user not in set(back.table(name)["user_id"])
            assert list(store.events_since()["user_id"]) == ["other"]
            assert len(back.reviews) == len(data.reviews) - report.removed["reviews"]
