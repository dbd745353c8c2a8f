"""Dialogue state per chat session, and hand-over tickets, persisted in the store's own database.

The tables live beside the store's (same engine, own metadata), so a session survives a restart and a
user can be erased from them with the rest of the store. Every write is one transaction.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, Text, delete, insert, select, update
from sqlalchemy.engine import Engine

MAX_TURNS_KEPT = 40  # enough context for references; old turns only cost space

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


@dataclass
class Slots:
    """What the shopper has asked for so far (kept across turns until they change it)."""

    query: str | None = None
    category: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    colour: str | None = None
    size: str | None = None
    brand: str | None = None

    def describe(self) -> str:
        parts = [p for p in (self.colour, self.brand, self.query, self.size) if p]
        if self.category:
            parts.append(f"in {self.category}")
        if self.max_price is not None:
            parts.append(f"under £{self.max_price:.2f}")
        if self.min_price is not None:
            parts.append(f"over £{self.min_price:.2f}")
        return " ".join(parts)


@dataclass
class DialogueState:
    """Everything the assistant remembers about one session."""

    session_id: str
    user_id: str | None = None
    language: str = "en"
    slots: Slots = field(default_factory=Slots)
    last_items: list[str] = field(default_factory=list)  # the list shown last, for "the second one"
    shown: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    focus_item: str | None = None  # the item the conversation is about
    failures: int = 0  # consecutive turns the assistant could not help with
    escalated: bool = False
    ticket_id: str | None = None
    turns: list[dict[str, Any]] = field(default_factory=list)
    turn_count: int = 0  # turns ever taken; each turn keeps its number "n" when old ones are dropped

    def remember(self, role: str, text: str, **extra: Any) -> int:
        number = self.turn_count
        self.turn_count += 1
        self.turns.append({"role": role, "text": text, "at": datetime.now(UTC).isoformat(), "n": number, **extra})
        del self.turns[:-MAX_TURNS_KEPT]
        return number

    def turn(self, number: int) -> dict[str, Any] | None:
        """The kept turn with this number (None once it has been dropped)."""
        return next((t for t in self.turns if t.get("n") == number), None)

    def show(self, item_ids: list[str]) -> None:
        self.last_items = list(item_ids)
        self.shown.extend(i for i in item_ids if i not in self.shown)
        if len(item_ids) == 1:
            self.focus_item = item_ids[0]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DialogueState:
        data = dict(data)
        data["slots"] = Slots(**data.get("slots", {}))
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


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
