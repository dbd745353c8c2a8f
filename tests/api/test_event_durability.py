"""Every acknowledged event survives a SIGKILL of the server right after the 2xx."""

from __future__ import annotations

import os
import signal
import sys
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopsense.core.settings import Settings  # noqa: E402
from shopsense.core.store import Store  # noqa: E402
from workspace_fixture import free_port, start_server  # noqa: E402


def test_acknowledged_events_survive_sigkill(private_workspace: Settings) -> None:
    port = free_port()
    proc = start_server(private_workspace.home, port)
    acked: list[str] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            for n in range(60):
                if n % 3 == 0:  # batches too
                    batch = [{"event_id": uuid.uuid4().hex, "user_id": f"dur-{n}", "type": "click",
                              "item_id": "toy_a"} for _ in range(5)]
                    r = http.post("/v1/events", json={"events": batch})
                    assert r.status_code == 201
                    acked += r.json()["event_ids"]
                else:
                    eid = uuid.uuid4().hex
                    r = http.post("/v1/events", json={"event_id": eid, "user_id": f"dur-{n}", "type": "view",
                                                      "item_id": "toy_b"})
                    assert r.status_code == 201
                    acked.append(eid)
            os.kill(proc.pid, signal.SIGKILL)  # right after the last 2xx: no shutdown, no flush
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
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
