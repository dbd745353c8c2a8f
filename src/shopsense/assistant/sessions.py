"""Chat sessions and hand-over tickets, persisted in the store's own database.

The tables live beside the store's (same engine, own metadata), so a session survives a restart and a
user can be erased from them with the rest of the store. Every write is one transaction. A turn's own
writes (claim, save) do not wait for the disk (see ``_writing``); tickets and erasures do.

A session has an ``owner`` (``user:<id>`` or ``visitor:<id>``, set when the server issues the session) and
is never handed to anyone else. One turn at a time per session, across every process on the database:
:meth:`SessionStore.claim` takes a short lease on the row (a compare-and-set ``UPDATE``), so two servers
answering the same session cannot reuse a turn number or lose a turn.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from shopsense.assistant.state import DialogueState
from shopsense.core.db import SQLITE_BEGIN_OPTION, SQLITE_SYNC_OPTION, create_tables

LEASE_SECONDS = 120  # longer than any turn (a slow language model included); a crashed turn frees it then
WAIT_SECONDS = 60


class SessionBusy(RuntimeError):
    """Another turn of the session has held it for longer than :data:`WAIT_SECONDS`."""


@dataclass
class Lease:
    """One turn's hold on a session (see :meth:`SessionStore.claim`)."""

    token: str
    released: bool = False

metadata = MetaData()
sessions_table = Table(
    "assistant_sessions", metadata,
    Column("session_id", String(128), primary_key=True),
    Column("user_id", String(255), index=True),
    Column("state", JSON, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("owner", String(300)),
    Column("lease_token", String(32)),
    Column("lease_until", DateTime),
)
_ADDED_COLUMNS = ("owner", "lease_token", "lease_until")  # columns a workspace made before them lacks
tickets_table = Table(
    "assistant_tickets", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", String(32), unique=True, nullable=False),
    Column("session_id", String(128), index=True, nullable=False),
    Column("user_id", String(255), index=True),
    Column("reason", String(64), nullable=False),
    Column("summary", Text, nullable=False),
    Column("transcript", JSON, nullable=False),
    Column("status", String(16), nullable=False, default="open"),
    Column("created_at", DateTime, nullable=False),
)


class SessionStore:
    """Loads and saves :class:`DialogueState` and records tickets, on the store's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(metadata, engine)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        have = {c["name"] for c in inspect(self.engine).get_columns("assistant_sessions")}
        for name in _ADDED_COLUMNS:
            if name not in have:
                column = sessions_table.c[name]
                kind = column.type.compile(dialect=self.engine.dialect)
                with _writing(self.engine) as conn:
                    try:
                        conn.execute(text(f"ALTER TABLE assistant_sessions ADD COLUMN {name} {kind}"))
                    except Exception:  # noqa: BLE001 - another process added it first
                        if name not in {c["name"] for c in inspect(self.engine).get_columns("assistant_sessions")}:
                            raise

    # -- ownership ----------------------------------------------------------------------------------------
    def create(self, owner: str, user_id: str | None = None) -> str:
        """A new session with an unguessable id, owned by ``owner`` (``user:<id>`` or ``visitor:<id>``)."""
        session_id = "s_" + secrets.token_urlsafe(18)
        state = DialogueState(session_id=session_id, user_id=user_id)
        with _writing(self.engine, durable=False) as conn:
            conn.execute(insert(sessions_table).values(session_id=session_id, user_id=user_id, owner=owner,
                                                       state=state.to_json(), updated_at=_now()))
        return session_id

    def owner(self, session_id: str) -> str | None:
        """Who owns the session (None when there is no such session or it predates owners)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(sessions_table.c.owner, sessions_table.c.user_id)
                               .where(sessions_table.c.session_id == session_id)).first()
        if row is None:
            return None
        return row.owner or (f"user:{row.user_id}" if row.user_id else None)

    @contextmanager
    def claim(self, session_id: str) -> Iterator[Lease]:
        """Hold the session for one turn (waiting for a turn another process is taking); the row is created
        when missing (a session used in-process, without the API issuing it). Hand the lease to :meth:`save`
        to save the turn and let go of the session in one write."""
        lease = Lease(secrets.token_hex(8))
        token = lease.token
        deadline = time.monotonic() + WAIT_SECONDS
        pause = 0.002
        while True:
            now = _now()
            with _writing(self.engine, durable=False) as conn:
                taken = conn.execute(
                    update(sessions_table).where(sessions_table.c.session_id == session_id)
                    .where(or_(sessions_table.c.lease_until.is_(None), sessions_table.c.lease_until < now))
                    .values(lease_token=token, lease_until=now + timedelta(seconds=LEASE_SECONDS))).rowcount
            if taken:
                break
            if not self._exists(session_id):
                self._insert_blank(session_id)
                continue
            if time.monotonic() > deadline:
                raise SessionBusy(f"session {session_id!r} is busy with another turn")
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        try:
            yield lease
        finally:
            if not lease.released:
                with _writing(self.engine, durable=False) as conn:
                    conn.execute(update(sessions_table).where(sessions_table.c.session_id == session_id)
                                 .where(sessions_table.c.lease_token == token)
                                 .values(lease_token=None, lease_until=None))

    def _exists(self, session_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(sessions_table.c.session_id)
                                .where(sessions_table.c.session_id == session_id)).first() is not None

    def _insert_blank(self, session_id: str) -> None:
        try:
            with _writing(self.engine, durable=False) as conn:
                conn.execute(insert(sessions_table).values(
                    session_id=session_id, state=DialogueState(session_id=session_id).to_json(),
                    updated_at=_now()))
        except IntegrityError:  # created meanwhile by another process
            pass

    def load(self, session_id: str, user_id: str | None = None) -> DialogueState:
        with self.engine.connect() as conn:
            row = conn.execute(select(sessions_table.c.state, sessions_table.c.user_id)
                               .where(sessions_table.c.session_id == session_id)).first()
        if row is None:
            return DialogueState(session_id=session_id, user_id=user_id)
        state = DialogueState.from_json(row.state if isinstance(row.state, dict) else json.loads(row.state))
        return state

    def save(self, state: DialogueState, lease: Lease | None = None) -> None:
        """Write the session; with the ``lease`` of a :meth:`claim`, also let go of the session (one commit:
        each costs an fsync, and a chat turn is three instead of four)."""
        values = {"user_id": state.user_id, "state": state.to_json(), "updated_at": _now()}
        with _writing(self.engine, durable=False) as conn:
            done = conn.execute(update(sessions_table).where(sessions_table.c.session_id == state.session_id)
                                .values(**values)).rowcount
            if not done:
                conn.execute(insert(sessions_table).values(session_id=state.session_id, **values))
            if lease is not None:
                conn.execute(update(sessions_table).where(sessions_table.c.session_id == state.session_id)
                             .where(sessions_table.c.lease_token == lease.token)
                             .values(lease_token=None, lease_until=None))
        if lease is not None:
            lease.released = True

    def open_ticket(self, state: DialogueState, reason: str, summary: str) -> str:
        ticket_id = "T-" + uuid.uuid4().hex[:10].upper()
        with _writing(self.engine) as conn:
            conn.execute(insert(tickets_table).values(
                ticket_id=ticket_id, session_id=state.session_id, user_id=state.user_id, reason=reason,
                summary=summary, transcript=state.turns[-12:], status="open", created_at=_now()))
        return ticket_id

    def tickets(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(tickets_table).order_by(tickets_table.c.id.desc()).limit(limit)).mappings()
            return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items() if k != "id"}
                    for r in rows]

    def resolve_ticket(self, ticket_id: str) -> bool:
        """Mark a ticket handled (the dashboard's action); False when there is no such open ticket."""
        with _writing(self.engine) as conn:
            return bool(conn.execute(update(tickets_table).where(tickets_table.c.ticket_id == ticket_id)
                                     .where(tickets_table.c.status == "open").values(status="resolved")).rowcount)

    def delete_user(self, user_id: str) -> dict[str, int]:
        """Erase a user's sessions and tickets (one transaction); rows removed per table."""
        with _writing(self.engine) as conn:
            return {
                "assistant_sessions": conn.execute(
                    delete(sessions_table).where(sessions_table.c.user_id == user_id)).rowcount,
                "assistant_tickets": conn.execute(
                    delete(tickets_table).where(tickets_table.c.user_id == user_id)).rowcount,
            }


@contextmanager
def _writing(engine: Engine, durable: bool = True) -> Iterator[Any]:
    """One write transaction that takes SQLite's write lock up front (no failing lock upgrade). ``durable=False``
    (a turn's session writes) commits atomically without waiting for the disk: a killed process loses
    nothing, a power cut at most the last turns of a conversation; tickets and erasures stay durable."""
    options = {SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"}
    if not durable:
        options[SQLITE_SYNC_OPTION] = "NORMAL"
    with engine.connect().execution_options(**options) as conn, conn.begin():
        if not durable and engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        yield conn


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
