"""The API contract: request and response models (they are also the OpenAPI documentation)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from shopsense.core.pii import find_pii, luhn_valid
from shopsense.core.records import INTERACTION_EVENTS, PUBLIC_ITEM_FIELDS, RATING_MAX, RATING_MIN, EventType, Item

Id = Field(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$")
MAX_BATCH = 1000
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)  # clocks differ; a day ahead is a clock, a year ahead is bad data
_PERSONAL = {"EMAIL": "an e-mail address", "PHONE": "a phone number", "CARD": "a card number",
             "ID": "an identity card number"}


def reject_personal_id(*fields: str) -> Any:
    """A validator for id fields: an id that is an e-mail, phone or card number would spread personal data
    into every log, index and model, so it is refused (use the store's internal customer id)."""

    def check(cls: type, value: str | None) -> str | None:
        if value is None:
            return value
        if value.isdigit():  # machine ids are often bare numbers: only a phone or a card number is one
            if (value.startswith("0") and 10 <= len(value) <= 11) or (len(value) in (15, 16) and luhn_valid(value)):
                raise ValueError("looks like a phone or card number: ids must not be personal data; send the "
                                 "store's internal id instead")
            return value
        for span in find_pii(value):
            # A random hex id may hold a run of digits that reads as a card number: only a number standing on
            # its own ("07700900123", "cust-07700900123") is one; an e-mail address is one anywhere.
            alone = not (value[span.start - 1: span.start].isalnum() or value[span.end: span.end + 1].isalnum())
            if span.kind in _PERSONAL and (alone or span.kind == "EMAIL"):
                raise ValueError(f"looks like {_PERSONAL[span.kind]}: ids must not be personal data; send the "
                                 "store's internal id instead")
        return value

    return field_validator(*fields)(classmethod(check))


def check_event_time(value: datetime | None) -> datetime | None:
    """``created_at`` must carry a time zone and lie between 1970 and a day from now."""
    if value is None:
        return value
    if value.tzinfo is None:
        raise ValueError("give a time zone (e.g. 2024-05-01T12:00:00Z)")
    latest = datetime.now(UTC) + FUTURE_SLACK
    if not EARLIEST <= value <= latest:
        raise ValueError(f"must lie between 1970-01-01 and {latest:%Y-%m-%d} (now + 1 day); got {value.isoformat()}")
    return value


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
    suggestions: list[str] | None = Field(default=None, description="Search only, when nothing matched: "
                                                                    "catalog words close to the query.")


class EventIn(BaseModel):
    """One thing a shopper did. ``event_id`` makes a retry harmless (a known id is stored once)."""

    model_config = ConfigDict(extra="forbid")

    event_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
    user_id: str | None = Field(default=None, min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$",
                                description="Whose event: taken as given with the admin key; otherwise the "
                                            "caller's own (shopper token or anonymous visitor) is used.")
    type: EventType
    item_id: str | None = Field(default=None, min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$")
    value: float | None = Field(default=None, description=f"Stars ({RATING_MIN}-{RATING_MAX}) for a rating; "
                                                          "optional otherwise.")
    session_id: str | None = Field(default=None, min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$")
    model_version: str | None = Field(default=None, min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$")
    created_at: datetime | None = None
    payload: dict[str, Any] | None = Field(default=None, description="Free-form details, e.g. chat feedback text.")

    check_ids = reject_personal_id("user_id", "session_id", "event_id")

    @field_validator("created_at")
    @classmethod
    def _in_range(cls, v: datetime | None) -> datetime | None:
        return check_event_time(v)

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
    identity: Literal["admin", "shopper", "visitor"] = Field(
        description="Whose events they were stored as: the body's users (admin key), the signed-in shopper, "
                    "or this anonymous visitor.")


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
