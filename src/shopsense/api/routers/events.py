"""``POST /v1/events``: one event or a batch, validated, masked, and committed to the store before the 2xx."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.concurrency import run_in_threadpool

from shopsense.api.deps import WorkspaceDep, require_read
from shopsense.api.errors import ApiError
from shopsense.api.identity import Caller, CallerDep
from shopsense.api.limits import events_limit
from shopsense.api.schemas import EventBatch, EventIn, EventsAck
from shopsense.core.pii import mask_pii
from shopsense.core.store import EventError

router = APIRouter(prefix="/v1", tags=["events"], dependencies=[Depends(require_read), Depends(events_limit)])
_MAX_DEPTH = 8


def _masked(value: Any, depth: int = 0) -> Any:
    """Free text in a payload with personal data masked (emails, phones, cards, addresses)."""
    if depth > _MAX_DEPTH:
        raise ApiError(422, f"payload nested deeper than {_MAX_DEPTH} levels", field="payload")
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):  # keys too: {"alice@example.com": 1} is as personal as the value
        return {mask_pii(str(k)): _masked(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, depth + 1) for v in value]
    return value


def _row(event: EventIn, user_id: str) -> dict[str, Any]:
    row = event.model_dump()
    row["user_id"] = user_id
    row["event_id"] = row["event_id"] or uuid.uuid4().hex
    if row["payload"] is not None:
        row["payload"] = _masked(row["payload"])
    return row


@router.post("/events", response_model=EventsAck, status_code=201)
async def post_events(
    request: Request,
    body: Annotated[EventIn | EventBatch, Body(description="One event, or {\"events\": [...]} (up to 1000).")],
    workspace: WorkspaceDep,
    caller: CallerDep,
) -> EventsAck:
    """Store events durably (committed and fsynced, together with concurrent requests' events) before
    answering; a repeated ``event_id`` is stored once, so clients can retry safely. Echo the
    ``model_version`` of the list a click came from.

    Whose events they are comes from the caller, not the body: with the admin key (the store's backend) the
    body's ``user_id`` is taken as given; with a shopper token the events are that shopper's (another
    ``user_id`` is a 403); an anonymous visitor's events are stored under their visitor id."""
    events = body.events if isinstance(body, EventBatch) else [body]
    identity, owner = _attribution(caller)
    if identity == "shopper":
        claimed = {e.user_id for e in events if e.user_id is not None and e.user_id != owner}
        if claimed:
            raise ApiError(403, "a shopper token posts only its own events; other users' events need the admin "
                           "key", field="user_id")
    rows = [_row(e, e.user_id if identity == "admin" and e.user_id else owner) for e in events]
    try:
        new_ids = await run_in_threadpool(workspace.events.append, rows)
    except EventError as exc:  # the schema already checks everything the store does; kept as a safety net
        raise ApiError(422, str(exc), field="events") from None
    counter = request.app.state.metrics.events
    fresh = set(new_ids)
    for row in rows:
        if row["event_id"] in fresh:
            counter.labels(row["type"]).inc()
    ids = [r["event_id"] for r in rows]
    return EventsAck(stored=len(new_ids), duplicates=len(rows) - len(new_ids), event_ids=ids, identity=identity)


def _attribution(caller: Caller) -> tuple[str, str]:
    if caller.admin:
        return "admin", caller.owner
    if caller.user_id:
        return "shopper", caller.user_id
    return "visitor", caller.owner
