"""``shopsense serve --workers 2``: two processes behind one port keep one worker's guarantees (sessions,
durable events, identity, jobs); one that dies is replaced, and SIGINT stops them all gracefully."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import httpx

from shopsense.core.settings import Settings
from shopsense.core.store import Store
from workspace_fixture import API_KEY, NO_LIMITS_ENV, as_shopper, copy_workspace, free_port, start_server


def test_two_workers_serve_one_workspace(workspace: Settings, tmp_path: Path) -> None:
    home = copy_workspace(workspace, tmp_path / "home")
    port = free_port()
    log = tmp_path / "server.log"
    proc = start_server(home.home, port, env={**NO_LIMITS_ENV, "SHOPSENSE_API_KEY": API_KEY},
                        args=("--workers", "2"), timeout=300, stderr=log)
    try:
        base = f"http://127.0.0.1:{port}"
        shopper = as_shopper(home, "u_worker")
        ids = [uuid.uuid4().hex for _ in range(40)]
        session = None
        turns = []
        for n, event_id in enumerate(ids):
            with httpx.Client(base_url=base, timeout=60) as fresh:  # a new connection: either worker answers
                ack = fresh.post("/v1/events", json={"event_id": event_id, "type": "view", "item_id": "x"},
                                 headers=shopper)
                assert ack.status_code == 201 and ack.json()["identity"] == "shopper"
                if n % 8 == 0:
                    body = {"message": "hello"} | ({"session_id": session} if session else {})
                    reply = fresh.post("/v1/chat", json=body, headers=shopper).json()
                    session = reply["session_id"]
                    turns.append(reply["turn"])
        assert turns == list(range(1, 2 * len(turns), 2))  # one conversation, whichever worker answered
        # a job one worker started: either worker answers for it, never a 404
        admin = {"X-API-Key": API_KEY}
        with httpx.Client(base_url=base, timeout=60) as http:
            job = http.post("/v1/admin/opinions/build", headers=admin).json()
        statuses = []
        for _ in range(200):
            with httpx.Client(base_url=base, timeout=60) as fresh:
                answer = fresh.get(f"/v1/admin/jobs/{job['id']}", headers=admin)
            assert answer.status_code == 200, answer.text
            statuses.append(answer.json()["status"])
            if statuses[-1] == "done" and len(statuses) >= 6:
                break
        assert statuses[-1] == "done", statuses
        # a worker that dies is replaced, and the port keeps answering meanwhile
        workers = _children(proc.pid)
        assert len(workers) == 2, workers
        os.kill(workers[0], signal.SIGKILL)
        answered = 0
        for _ in range(600):
            with httpx.Client(base_url=base, timeout=60) as fresh:
                answered += fresh.get("/readyz").status_code == 200
            replaced = _children(proc.pid)
            if len(replaced) == 2 and workers[0] not in replaced and answered >= 5:
                break
            time.sleep(0.2)
        assert len(replaced) == 2 and workers[0] not in replaced and answered >= 5, (workers, replaced, answered)
        # SIGINT to the master alone (a process manager, not a terminal's Ctrl+C) stops the workers gracefully
        before = len(log.read_text())
        proc.send_signal(signal.SIGINT)
        assert proc.wait(120) == 0
        said = log.read_text()[before:]
        assert "was sent SIGKILL" not in said and said.count("Application shutdown complete") == 2, said
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(60)
    with Store.from_settings(home) as store:
        stored = store.events_since(None)
    mine = stored[stored["event_id"].isin(ids)]
    assert len(mine) == len(ids) and set(mine["user_id"]) == {"u_worker"}


def _children(pid: int) -> list[int]:
    """The worker processes the server forked."""
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
