"""A SIGKILLed import leaves a PostgreSQL store exactly as it was: the server rolls the open transaction back
when the importing client dies (the scenario and the SQLite twin are in tests/core/test_import_kill.py)."""

from __future__ import annotations

import signal

import pytest
from sqlalchemy import text

from core.test_import_kill import import_killed_midway
from shopsense.core.store import Store

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def _open_inside_the_server(reader: Store) -> None:
    with reader.engine.connect() as conn:  # the killed import's transaction really is open, right now
        assert conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                 " AND state LIKE 'idle in transaction%'")).scalar_one() == 1


@pytest.mark.parametrize(("stop_table", "stop_fraction"), [("interactions", 0.5), ("items", 0.0)],
                         ids=["midway-through-interactions", "right-after-the-deletes"])
def test_sigkill_mid_import_leaves_the_previous_content(pg_url: str, stop_table: str,
                                                        stop_fraction: float) -> None:
    import_killed_midway(pg_url, stop_table, stop_fraction, _open_inside_the_server)
