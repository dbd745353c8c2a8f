"""The shopping assistant over HTTP: ``POST /v1/chat``, its streaming variant ``POST /v1/chat/stream``
(server-sent events), thumbs up/down ``POST /v1/chat/feedback`` (a ``chat_feedback`` event), a session's
transcript, and the hand-over tickets for the shop's staff (admin).

The :class:`~shopsense.assistant.assistant.Assistant` comes from the process's ``Workspace`` (built on first
use, rebuilt when the store or the intent model changes).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from shopsense.api.deps import require_admin, require_read
from shopsense.api.errors import ApiError
from shopsense.api.identity import Caller, CallerDep
from shopsense.api.limits import chat_limit, generation_slot
from shopsense.api.schemas import reject_personal_id
from shopsense.assistant.assistant import MAX_MESSAGE_CHARS, Assistant, AssistantError
from shopsense.assistant.sessions import SessionBusy

router = APIRouter(prefix="/v1", tags=["assistant"])
_SESSION = r"^[A-Za-z0-9_.:\-]{1,128}$"


class ChatIn(BaseModel):
    """One shopper message. Leave ``session_id`` out to start a conversation: the server issues one (in the
    answer), bound to the caller; only that caller can continue or read it."""

    model_config = ConfigDict(extra="forbid")

    session_id: str | None = Field(default=None, pattern=_SESSION,
                                   description="As a previous answer returned it; omit to start a session.")
    user_id: str | None = Field(default=None, min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$",
                                description="Ignored: the shopper is whoever the shopper token says "
                                            "(Authorization: Bearer, or the storefront's cookie).")
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)

    check_ids = reject_personal_id("session_id", "user_id")


class ChatItem(BaseModel):
    """A catalog item the reply shows (always a real item of the catalog, with its catalog price)."""

    model_config = ConfigDict(extra="allow")

    item_id: str
    title: str
    price: float | None = None


class ChatOut(BaseModel):
    """The assistant's answer: ``sources`` name the FAQ entries, orders, reviews and items it used."""

    session_id: str = Field(description="The conversation's id: send it with the next message.")
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
    user_id: str | None = Field(default=None, min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$",
                                description="Ignored (the session's own shopper is recorded).")
    comment: str | None = Field(default=None, max_length=500)

    check_ids = reject_personal_id("session_id", "user_id")


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


def _session_for(assistant: Assistant, caller: Caller, session_id: str | None) -> str:
    """The caller's session: a new one, or one they own (anyone else's answers 404, as if absent)."""
    if session_id is None:
        return assistant.sessions.create(caller.owner, caller.user_id)
    if assistant.sessions.owner(session_id) != caller.owner:
        raise ApiError(404, f"no conversation of yours with session_id {session_id!r}: omit session_id to start "
                       "one", field="session_id")
    return session_id


@contextmanager
def _turn_errors() -> Iterator[None]:
    try:
        yield
    except AssistantError as exc:
        raise _api_error(exc) from None
    except SessionBusy as exc:
        raise ApiError(503, str(exc), field="session_id", headers={"Retry-After": "5"}) from None


def _turn(assistant: Assistant, caller: Caller, body: ChatIn) -> dict[str, Any]:
    session_id = _session_for(assistant, caller, body.session_id)
    with _turn_errors():
        answer = assistant.reply(session_id, body.message, caller.user_id)
    return {"session_id": session_id, **answer.as_dict()}


def _streamed_turn(assistant: Assistant, caller: Caller, body: ChatIn) -> list[dict[str, Any]]:
    session_id = _session_for(assistant, caller, body.session_id)
    with _turn_errors():
        events = list(assistant.stream(session_id, body.message, caller.user_id))
    events[0]["session_id"] = session_id  # the meta event
    return events


@router.post("/chat", response_model=ChatOut, dependencies=[Depends(require_read), Depends(chat_limit)])
async def chat(body: ChatIn, assistant: AssistantDep, caller: CallerDep, request: Request) -> ChatOut:
    """Answer one message. Products come from the catalog, answers from the FAQ and policies (cited), order
    details only for the verified shopper (a shopper token); complaints and requests for a person open a
    ticket."""
    async with generation_slot(request):
        return ChatOut(**await run_in_threadpool(_turn, assistant, caller, body))


def _sse(events: Iterator[dict[str, Any]]) -> Iterator[str]:
    for event in events:
        kind = event.pop("event")
        yield f"event: {kind}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


@router.post("/chat/stream", dependencies=[Depends(require_read), Depends(chat_limit)],
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "Server-sent events: meta, then delta pieces, then done."}})
async def chat_stream(body: ChatIn, assistant: AssistantDep, caller: CallerDep,
                      request: Request) -> StreamingResponse:
    """The same turn as ``/v1/chat`` as server-sent events: ``meta`` (session_id, intent, items, sources,
    turn), ``delta`` (pieces of the reply text), ``done`` (the whole reply). Errors arrive as a JSON 4xx
    before any event."""
    async with generation_slot(request):
        events = await run_in_threadpool(_streamed_turn, assistant, caller, body)
    return StreamingResponse(_sse(iter(events)), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.post("/chat/feedback", response_model=FeedbackOut, status_code=201, dependencies=[Depends(require_read)])
async def chat_feedback(body: FeedbackIn, request: Request, assistant: AssistantDep,
                        caller: CallerDep) -> FeedbackOut:
    """Record a thumbs up (``helpful: true``) or down on a reply of your own session as a ``chat_feedback``
    event (value +1 / -1)."""
    _session_for(assistant, caller, body.session_id)
    try:
        event = assistant.feedback_event(body.session_id, body.turn, body.helpful, body.comment, caller.user_id)
    except AssistantError as exc:
        raise _api_error(exc) from None
    event["event_id"] = f"chatfb:{body.session_id}:{body.turn}"  # one vote per reply; a retry is harmless
    stored = await run_in_threadpool(request.app.state.workspace.store.append_events, [event])
    if stored:
        request.app.state.metrics.events.labels("chat_feedback").inc()
    return FeedbackOut(event_id=event["event_id"], stored=bool(stored))


@router.get("/chat/sessions/{session_id}", dependencies=[Depends(require_read)])
async def chat_session(assistant: AssistantDep, caller: CallerDep,
                       session_id: Annotated[str, Path(pattern=_SESSION)]) -> dict[str, Any]:
    """Your session's transcript (messages are stored with personal data masked), for the widget to resume;
    a session that is not yours answers 404."""
    await run_in_threadpool(_session_for, assistant, caller, session_id)
    state = await run_in_threadpool(assistant.sessions.load, session_id)
    turns = [{"role": t["role"], "text": t["text"], "turn": t.get("n", i)} for i, t in enumerate(state.turns)]
    return {"session_id": session_id, "escalated": state.escalated, "ticket_id": state.ticket_id, "turns": turns}


@router.get("/admin/tickets", dependencies=[Depends(require_admin)], tags=["admin"])
async def tickets(assistant: AssistantDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  ) -> list[dict[str, Any]]:
    """Hand-over tickets, newest first: reason, summary and the conversation so far."""
    return await run_in_threadpool(assistant.sessions.tickets, limit)
