"""Typed records of a store and the in-memory table bundle (:class:`StoreData`) every capability reads.

One record class per table of the store directory (see docs/architecture.md). Loaders validate rows
into these records; bulk code works on :class:`StoreData`, whose DataFrames hold exactly the
canonical columns below (plus any extra columns a store supplied, kept as they came).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, get_args

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

# The event vocabulary, defined here once. An interaction event says something about one item (a store's
# ``interactions`` table, and the API events recommenders learn from); the event log also takes chat feedback.
InteractionEvent = Literal["view", "click", "cart", "purchase", "rating"]
EventType = Literal[InteractionEvent, Literal["chat_feedback"]]
INTERACTION_EVENTS: tuple[str, ...] = get_args(InteractionEvent)
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
DEFAULT_EVENT = "purchase"  # an interaction row without an event
RATING_MIN, RATING_MAX = 1, 5  # the stars of a review or a rating event


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Item(_Record):
    """A product in the catalog."""

    item_id: str
    title: str
    description: str = ""
    category: str = ""  # a path such as "Instruments > Guitars"
    brand: str = ""
    price: float | None = None
    currency: str = ""
    attributes: dict[str, Any] = Field(default_factory=dict)
    image_url: str = ""


# The fields of an item that a shopper-facing list shows (the API's ItemOut is built from these).
PUBLIC_ITEM_FIELDS: tuple[str, ...] = ("item_id", "title", "price", "currency", "category", "brand", "image_url")


class Interaction(_Record):
    """One thing a user did with an item (a review also counts as one)."""

    user_id: str
    item_id: str
    timestamp: datetime
    event: InteractionEvent = DEFAULT_EVENT
    value: float | None = None  # the stars for a rating event


class Review(_Record):
    """A customer review with 1-5 stars."""

    review_id: str
    user_id: str
    item_id: str
    rating: int = Field(ge=RATING_MIN, le=RATING_MAX)
    text: str
    title: str = ""
    timestamp: datetime | None = None


class FaqEntry(_Record):
    """A question/answer pair of the store's FAQ or policies."""

    faq_id: str
    question: str
    answer: str
    category: str = ""
    source: str = ""  # file name or URL the entry came from, cited by the assistant


class Order(_Record):
    """One order line: an item a user ordered, and where the order stands."""

    order_id: str
    user_id: str
    item_id: str
    status: str
    created_at: datetime | None = None
    updated_at: datetime | None = None


class User(_Record):
    """A shopper; every profile column is optional and kept as given."""

    user_id: str


# Canonical columns of each table, in order. Timestamps are tz-aware UTC pandas datetimes.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "items": ("item_id", "title", "description", "category", "brand", "price", "currency", "attributes",
              "image_url"),
    "interactions": ("user_id", "item_id", "timestamp", "event", "value"),
    "reviews": ("review_id", "user_id", "item_id", "rating", "text", "title", "timestamp"),
    "faq": ("faq_id", "question", "answer", "category", "source"),
    "orders": ("order_id", "user_id", "item_id", "status", "created_at", "updated_at"),
    "users": ("user_id",),
}
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "items": ("item_id", "title"),
    "interactions": ("user_id", "item_id", "timestamp"),
    "reviews": ("user_id", "item_id", "rating", "text"),
    "faq": ("question", "answer"),
    "orders": ("order_id", "user_id", "item_id", "status"),
    "users": ("user_id",),
}
RECORD_TYPES: dict[str, type[_Record]] = {
    "items": Item, "interactions": Interaction, "reviews": Review, "faq": FaqEntry, "orders": Order,
    "users": User,
}


def empty_table(name: str) -> pd.DataFrame:
    """An empty DataFrame with the canonical columns of ``name``."""
    return pd.DataFrame({col: pd.Series(dtype="object") for col in TABLE_COLUMNS[name]})


@dataclass
class StoreData:
    """All tables of one store as DataFrames with canonical columns (extra columns kept).

    ``interactions`` holds explicit interaction rows only; :meth:`all_interactions` adds one
    ``rating`` interaction per review, which is what recommenders train on.
    """

    items: pd.DataFrame = field(default_factory=lambda: empty_table("items"))
    interactions: pd.DataFrame = field(default_factory=lambda: empty_table("interactions"))
    reviews: pd.DataFrame = field(default_factory=lambda: empty_table("reviews"))
    faq: pd.DataFrame = field(default_factory=lambda: empty_table("faq"))
    orders: pd.DataFrame = field(default_factory=lambda: empty_table("orders"))
    users: pd.DataFrame = field(default_factory=lambda: empty_table("users"))

    TABLES: ClassVar[tuple[str, ...]] = ("items", "interactions", "reviews", "faq", "orders", "users")

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    def counts(self) -> dict[str, int]:
        return {name: len(self.table(name)) for name in self.TABLES}

    def all_interactions(self) -> pd.DataFrame:
        """Interactions plus one ``rating`` event per review (value = stars), sorted by time."""
        from_reviews = pd.DataFrame({
            "user_id": self.reviews["user_id"],
            "item_id": self.reviews["item_id"],
            "timestamp": self.reviews["timestamp"],
            "event": "rating",
            "value": self.reviews["rating"].astype("float64"),
        })
        frames = [f for f in (self.interactions[list(TABLE_COLUMNS["interactions"])], from_reviews) if len(f)]
        if not frames:
            return empty_table("interactions")
        merged = pd.concat(frames, ignore_index=True)
        return merged.sort_values(["timestamp", "user_id", "item_id"], kind="stable").reset_index(drop=True)
