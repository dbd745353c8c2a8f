"""Dialogue state per chat session: what the shopper asked for and what they were shown.

Persisted by :mod:`shopsense.assistant.sessions`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

MAX_TURNS_KEPT = 40  # enough context for references; old turns only cost space


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
    child: bool | None = None  # buying for a child (True), an adult (False), not said (None)
    age_months: float | None = None
    types: list[str] = field(default_factory=list)  # product types (constraints.PRODUCT_TYPES keys)
    themes: list[str] = field(default_factory=list)  # themes (constraints.THEMES keys)
    occasion: str | None = None
    cheaper: bool = False  # max_price came from "something cheaper", not from the shopper's own budget

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
    last_order_id: str | None = None  # the order the conversation is about ("when will it arrive?")
    last_reply_items: list[str] = field(default_factory=list)  # the items the last reply showed ("cheaper")

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
        slots = data.get("slots") or {}
        data["slots"] = Slots(**{k: v for k, v in slots.items() if k in Slots.__dataclass_fields__})
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})
