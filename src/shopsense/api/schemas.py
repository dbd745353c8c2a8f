"""The API contract: request and response models (they are also the OpenAPI documentation)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from shopsense.core.records import INTERACTION_EVENTS, PUBLIC_ITEM_FIELDS, RATING_MAX, RATING_MIN, EventType, Item

Id = Field(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$")
MAX_BATCH = 1000


def _item_field(name: str) -> tuple[Any, Any]:
    """An :class:`Item` field as a response field: ids and titles required, the rest optional."""
    annotation = Item.model_fields[name].annotation
    return (annotation, ...) if name in ("item_id", "title") else (annotation | None, None)


ItemOut = create_model(
    "ItemOut", __doc__="One item of a list: recommendations, similar items and search results all use this shape.",
    **{name: _item_field(name) for name in PUBLIC_ITEM_FIELDS}, score=(float, ...),
    explanation=(str | None, None))


class ItemsResponse(BaseModel):
    """A ranked list of items and the model version that produced it (echo it in events for A/B reports)."""

    items: list[ItemOut]
    model_version: str | None = None
    variant: str | None = Field(default=None, description="A/B arm: production or candidate")
    source: str | None = Field(default=None, description="personal | recent | trending | similar | search")


class EventIn(BaseModel):
    """One thing a shopper did. ``event_id`` makes a retry harmless (a known id is stored once)."""

    model_config = ConfigDict(extra="forbid")

    event_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
    user_id: str = Id
    type: EventType
    item_id: str | None = Field(default=None, min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$")
    value: float | None = Field(default=None, description=f"Stars ({RATING_MIN}-{RATING_MAX}) for a rating; "
                                                          "optional otherwise.")
    session_id: str | None = Field(default=None, min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$")
    model_version: str | None = Field(default=None, min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$")
    created_at: datetime | None = None
    payload: dict[str, Any] | None = Field(default=None, description="Free-form details, e.g. chat feedback text.")

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @model_validator(mode="after")
    def _by_type(self) -> EventIn:
        if self.type == "rating":
            if self.value is None or not RATING_MIN <= self.value <= RATING_MAX:
                raise ValueError(f"value: a rating needs a value between {RATING_MIN} and {RATING_MAX}")
            if self.item_id is None:
                raise ValueError("item_id: a rating needs the item it rates")
        if self.type in INTERACTION_EVENTS and self.item_id is None:
            raise ValueError(f"item_id: a {self.type} event needs an item_id")
        if self.created_at is not None and self.created_at.tzinfo is None:
            raise ValueError("created_at: give a time zone (e.g. 2024-05-01T12:00:00Z)")
        if self.created_at is not None and not 1970 <= self.created_at.year <= 9000:
            raise ValueError("created_at: out of range")
        return self


class EventBatch(BaseModel):
    """Several events stored together: all or none."""

    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


class EventsAck(BaseModel):
    """Stored durably before this answer was sent: ``stored`` are new, ``duplicates`` were already known."""

    stored: int
    duplicates: int
    event_ids: list[str]


class TextIn(BaseModel):
    """A text to analyse."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=5000)


class ClassifyIn(TextIn):
    """A text and the classification task (``intent`` or ``category``)."""

    task: Literal["intent", "category"] = "intent"


class LabelOut(BaseModel):
    """A predicted label with its confidence and the version of the model that gave it."""

    label: str
    confidence: float
    in_scope: bool = True
    scores: dict[str, float] = Field(default_factory=dict)
    model: str
    model_version: str | None = None


class EntityOut(BaseModel):
    """An entity found in the text (emails and phone numbers come back masked)."""

    type: str
    text: str
    start: int
    end: int
    value: Any = None


class EntitiesOut(BaseModel):
    """Entities of a text, in order of position."""

    entities: list[EntityOut]
