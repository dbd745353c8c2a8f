"""A SIGKILLed import leaves the SQLite store exactly as it was before the import began."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopsense.core.records import StoreData
from shopsense.core.store import Store

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

# The child imports 200k interactions; its progress callback announces the kill point on stdout and then
# waits, so the parent kills it at a known place inside the open transaction.
CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np, pandas as pd
    from shopsense.core.records import StoreData
    from shopsense.core.store import Store

    url, stop_table, stop_fraction = sys.argv[1], sys.argv[2], float(sys.argv[3])
    rng = np.random.default_rng(7)
    n = 200_000
    items = pd.DataFrame({"item_id": [f"big-{i}" for i in range(2000)], "title": "t", "description": "",
                          "category": "", "brand": "", "price": 1.0, "currency": "",
                          "attributes": [{}] * 2000, "image_url": ""})
    inter = pd.DataFrame({"user_id": [f"bu{i}" for i in rng.integers(0, 20_000, n)],
                          "item_id": [f"big-{i}" for i in rng.integers(0, 2000, n)],
                          "timestamp": pd.to_datetime(rng.integers(1.5e9, 1.7e9, n), unit="s", utc=True),
                          "event": "view", "value": np.nan})

    def progress(table, done, total):
        if table == stop_table and done >= stop_fraction * total:
            print("KILL-POINT", table, done, total, flush=True)
            time.sleep(600)

    Store(url).import_store(StoreData(items=items, interactions=inter), source="big", progress=progress)
    print("FINISHED", flush=True)
""")


def _first_store() -> StoreData:
    rng = np.random.default_rng(0)
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(50)], "title": [f"Item {i}" for i in range(50)],
                          "description": "", "category": "Toys", "brand": "", "price": rng.random(50),
                          "currency": "GBP", "attributes": [{"n": i} for i in range(50)], "image_url": ""})
    inter = pd.DataFrame({"user_id": [f"u{i % 30}" for i in range(500)],
                          "item_id": [f"i{i % 50}" for i in range(500)],
                          "timestamp": pd.to_datetime(1.6e9 + np.arange(500) * 3600, unit="s", utc=True),
                          "event": "purchase", "value": np.nan})
    users = pd.DataFrame({"user_id": [f"u{i}" for i in range(30)]})
    return StoreData(items=items, interactions=inter, users=users)


def _wait_for_line(proc: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    """The first stdout line starting with ``prefix``; a guard (not a performance limit) against a hang."""
    found: list[str] = []

    def reader() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith(prefix) or line.startswith("FINISHED"):
                found.append(line)
                return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(timeout)
    if not found:
        proc.kill()
        pytest.fail(f"the importing child never reached its kill point; stderr: {proc.stderr.read()}")
    return found[0]


def import_killed_midway(url: str, stop_table: str, stop_fraction: float, while_open=None) -> None:
    """Import a first store into ``url``, SIGKILL a second import at its kill point, and check that the store
    holds exactly the first content and takes a new import afterwards. ``while_open(reader)`` checks the
    store while the killed import's transaction is still open (tests/pg reuses this with PostgreSQL)."""
    first = _first_store()
    with Store(url) as store:
        store.import_store(first, source="first")
        store.append_events([{"event_id": "e1", "user_id": "u1", "type": "view"}])
        before = store.counts()
        last = store.last_import()

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, url, stop_table, str(stop_fraction)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = _wait_for_line(proc, "KILL-POINT", timeout=300)
        assert line.startswith("KILL-POINT"), line
        # The child holds an open write transaction: the old rows are deleted and new ones written inside it.
        # A reader still sees the committed content.
        with Store(url) as reader:
            assert reader.counts() == before
            if while_open is not None:
                while_open(reader)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]

    with Store(url) as store:
        assert store.counts() == before
        assert store.last_import() == last
        back = store.load()
        for name in ("items", "interactions", "users"):
            pd.testing.assert_frame_equal(back.table(name), first.table(name), obj=name)
        assert list(store.events_since()["event_id"]) == ["e1"]
        # and the store takes a new import normally afterwards
        assert not store.import_store(StoreData(items=first.items.iloc[:3])).unchanged
        assert store.counts()["items"] == 3


@pytest.mark.parametrize(("stop_table", "stop_fraction"), [("interactions", 0.5), ("items", 0.0)],
                         ids=["midway-through-interactions", "right-after-the-deletes"])
def test_sigkill_mid_import_leaves_the_previous_content(tmp_path: Path, stop_table: str,
                                                        stop_fraction: float) -> None:
    db = tmp_path / "store.db"

    def uncommitted_pages_in_the_wal(_reader: Store) -> None:
        if stop_table == "interactions":
            assert (tmp_path / "store.db-wal").stat().st_size > 1_000_000

    import_killed_midway(f"sqlite:///{db}", stop_table, stop_fraction, uncommitted_pages_in_the_wal)
    raw = sqlite3.connect(db)
    try:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        raw.close()
