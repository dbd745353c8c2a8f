"""Every acknowledged event survives a SIGKILL of the server right after the 2xx."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopsense.core.settings import Settings  # noqa: E402
from shopsense.core.store import Store  # noqa: E402
from workspace_fixture import free_port, post_events_then_sigkill, start_server  # noqa: E402


def test_acknowledged_events_survive_sigkill(private_workspace: Settings) -> None:
    port = free_port()
    acked = post_events_then_sigkill(private_workspace.home, port, 60, batch_every=3)
    with Store.from_settings(private_workspace) as store:
        stored = set(store.events_since(None)["event_id"])
    assert len(acked) == 140 and set(acked) <= stored
    proc = start_server(private_workspace.home, port)  # and the restarted server knows them
    try:
        r = httpx.post(f"http://127.0.0.1:{port}/v1/events", json={"event_id": acked[-1], "user_id": "dur-59",
                                                                  "type": "view", "item_id": "toy_b"})
        assert r.json()["duplicates"] == 1
    finally:
        proc.terminate()
        proc.wait(30)
