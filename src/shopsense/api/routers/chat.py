"""The shopping assistant over HTTP: ``POST /v1/chat``, its streaming variant ``POST /v1/chat/stream``
(server-sent events), thumbs up/down ``POST /v1/chat/feedback`` (a ``chat_feedback`` event), a session's
transcript, and the hand-over tickets for the shop's staff (admin).

The :class:`~shopsense.assistant.assistant.Assistant` comes from the process's ``Workspace`` (built on first
use, rebuilt when the store or the intent model changes).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from shopsense.api.deps import require_admin, require_read
from shopsense.api.errors import ApiError
from shopsense.assistant.assistant import MAX_MESSAGE_CHARS, Assistant, AssistantError

router = APIRouter(prefix="/v1", tags=["assistant"])
_SESSION = r"^[A-Za-z0-9_.:\-]{1,128}$"


class ChatIn(BaseModel):
    """One shopper message in a session (the session is created on first use)."""

    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(pattern=_SESSION, description="Chosen by the client; 1-128 of A-Z a-z 0-9 _ . : -")
    user_id: str | None = Field(default=None, min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$",
                                description="The signed-in shopper, if any; needed for order questions.")
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)


class ChatItem(BaseModel):
    """A catalog item the reply shows (always a real item of the catalog, with its catalog price)."""

    model_config = ConfigDict(extra="allow")

    item_id: str
    title: str
    price: float | None = None


class ChatOut(BaseModel):
    """The assistant's answer: ``sources`` name the FAQ entries, orders, reviews and items it used."""

    reply: str
    items: list[ChatItem]
    sources: list[dict[str, Any]]
    intent: str
    escalated: bool
    ticket_id: str | None = None
    action: str
    turn: int = Field(description="Index of this reply in the session; send it back with feedback.")
    generation: dict[str, Any]


class FeedbackIn(BaseModel):
    """Thumbs up or down on one of the assistant's replies."""

    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(pattern=_SESSION)
    turn: int = Field(ge=0, description="The ``turn`` of the reply, as /v1/chat returned it.")
    helpful: bool
    user_id: str | None = Field(default=None, min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$")
    comment: str | None = Field(default=None, max_length=500)


class FeedbackOut(BaseModel):
    event_id: str
    stored: bool


def get_assistant(request: Request) -> Assistant:
    """The workspace's assistant (loads the intent, sentiment and FAQ models once; 503 until trained)."""
    try:
        return request.app.state.workspace.assistant()
    except AssistantError as exc:
        raise ApiError(exc.status, str(exc), field=exc.field) from None


async def _assistant(request: Request) -> Assistant:
    return await run_in_threadpool(get_assistant, request)


AssistantDep = Annotated[Assistant, Depends(_assistant)]


def _api_error(exc: AssistantError) -> ApiError:
    return ApiError(exc.status, str(exc), field=exc.field)


@router.post("/chat", response_model=ChatOut, dependencies=[Depends(require_read)])
async def chat(body: ChatIn, assistant: AssistantDep) -> ChatOut:
    """Answer one message. Products come from the catalog, answers from the FAQ and policies (cited), order
    details only for the session's own ``user_id``; complaints and requests for a person open a ticket."""
    try:
        answer = await run_in_threadpool(assistant.reply, body.session_id, body.message, body.user_id)
    except AssistantError as exc:
        raise _api_error(exc) from None
    return ChatOut(**answer.as_dict())


def _sse(events: Iterator[dict[str, Any]]) -> Iterator[str]:
    for event in events:
        kind = event.pop("event")
        yield f"event: {kind}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


@router.post("/chat/stream", dependencies=[Depends(require_read)],
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "Server-sent events: meta, then delta pieces, then done."}})
async def chat_stream(body: ChatIn, assistant: AssistantDep) -> StreamingResponse:
    """The same turn as ``/v1/chat`` as server-sent events: ``meta`` (intent, items, sources, turn), ``delta``
    (pieces of the reply text), ``done`` (the whole reply). Errors arrive as a JSON 4xx before any event."""
    try:
        events = await run_in_threadpool(lambda: list(assistant.stream(body.session_id, body.message, body.user_id)))
    except AssistantError as exc:
        raise _api_error(exc) from None
    return StreamingResponse(_sse(iter(events)), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.post("/chat/feedback", response_model=FeedbackOut, status_code=201, dependencies=[Depends(require_read)])
async def chat_feedback(body: FeedbackIn, request: Request, assistant: AssistantDep) -> FeedbackOut:
    """Record a thumbs up (``helpful: true``) or down on a reply as a ``chat_feedback`` event (value +1 / -1)."""
    try:
        event = assistant.feedback_event(body.session_id, body.turn, body.helpful, body.comment, body.user_id)
    except AssistantError as exc:
        raise _api_error(exc) from None
    event["event_id"] = f"chatfb:{body.session_id}:{body.turn}"  # one vote per reply; a retry is harmless
    stored = await run_in_threadpool(request.app.state.workspace.store.append_events, [event])
    if stored:
        request.app.state.metrics.events.labels("chat_feedback").inc()
    return FeedbackOut(event_id=event["event_id"], stored=bool(stored))


@router.get("/chat/sessions/{session_id}", dependencies=[Depends(require_read)])
async def chat_session(assistant: AssistantDep, session_id: Annotated[str, Path(pattern=_SESSION)],
                       user_id: Annotated[str | None, Query(max_length=255)] = None) -> dict[str, Any]:
    """A session's transcript (messages are stored with personal data masked), for the widget to resume."""
    state = await run_in_threadpool(assistant.sessions.load, session_id)
    if not state.turns:
        raise ApiError(404, f"no conversation with session_id {session_id!r}", field="session_id")
    if state.user_id and state.user_id != user_id:
        raise ApiError(403, "this session belongs to another user", field="user_id")
    turns = [{"role": t["role"], "text": t["text"], "turn": t.get("n", i)} for i, t in enumerate(state.turns)]
    return {"session_id": session_id, "escalated": state.escalated, "ticket_id": state.ticket_id, "turns": turns}


@router.get("/admin/tickets", dependencies=[Depends(require_admin)], tags=["admin"])
async def tickets(assistant: AssistantDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  ) -> list[dict[str, Any]]:
    """Hand-over tickets, newest first: reason, summary and the conversation so far."""
    return await run_in_threadpool(assistant.sessions.tickets, limit)
