"""Chat sessions and hand-over tickets, persisted in the store's own database.

The tables live beside the store's (same engine, own metadata), so a session survives a restart and a
user can be erased from them with the rest of the store. Every write is one transaction.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, Text, delete, insert, select, update
from sqlalchemy.engine import Engine

from shopsense.assistant.state import DialogueState

metadata = MetaData()
sessions_table = Table(
    "assistant_sessions", metadata,
    Column("session_id", String(128), primary_key=True),
    Column("user_id", String(255), index=True),
    Column("state", JSON, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)
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
        metadata.create_all(engine)

    def load(self, session_id: str, user_id: str | None = None) -> DialogueState:
        with self.engine.connect() as conn:
            row = conn.execute(select(sessions_table.c.state, sessions_table.c.user_id)
                               .where(sessions_table.c.session_id == session_id)).first()
        if row is None:
            return DialogueState(session_id=session_id, user_id=user_id)
        state = DialogueState.from_json(row.state if isinstance(row.state, dict) else json.loads(row.state))
        return state

    def save(self, state: DialogueState) -> None:
        values = {"user_id": state.user_id, "state": state.to_json(), "updated_at": _now()}
        with self.engine.begin() as conn:
            done = conn.execute(update(sessions_table).where(sessions_table.c.session_id == state.session_id)
                                .values(**values)).rowcount
            if not done:
                conn.execute(insert(sessions_table).values(session_id=state.session_id, **values))

    def open_ticket(self, state: DialogueState, reason: str, summary: str) -> str:
        ticket_id = "T-" + uuid.uuid4().hex[:10].upper()
        with self.engine.begin() as conn:
            conn.execute(insert(tickets_table).values(
                ticket_id=ticket_id, session_id=state.session_id, user_id=state.user_id, reason=reason,
                summary=summary, transcript=state.turns[-12:], status="open", created_at=_now()))
        return ticket_id

    def tickets(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(tickets_table).order_by(tickets_table.c.id.desc()).limit(limit)).mappings()
            return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items() if k != "id"}
                    for r in rows]

    def delete_user(self, user_id: str) -> dict[str, int]:
        """Erase a user's sessions and tickets (one transaction); rows removed per table."""
        with self.engine.begin() as conn:
            return {
                "assistant_sessions": conn.execute(
                    delete(sessions_table).where(sessions_table.c.user_id == user_id)).rowcount,
                "assistant_tickets": conn.execute(
                    delete(tickets_table).where(tickets_table.c.user_id == user_id)).rowcount,
            }


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
