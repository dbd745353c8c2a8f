"""Ad copy over HTTP: ``POST /v1/copy`` and the copy studio page ``/admin/copy``.

The store's tables and the configured generator (``SHOPSENSE_GENERATOR``) come from the workspace (keyed on
the store generation). Review highlights come from the opinion index (praised aspects with counts and
quotes) when it is built for the store as it is now; otherwise from the item's 4-5 star reviews: no request
waits minutes for an index.
``highlights_source`` says which.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from shopsense.api.deps import WorkspaceDep, require_read
from shopsense.api.errors import ApiError
from shopsense.api.identity import CallerDep, require_admin_page
from shopsense.api.limits import copy_limit, generation_slot
from shopsense.api.routers.pages import page
from shopsense.marketing.copy import CopyError
from shopsense.marketing.copy_service import generate_copy, summary_from_index
from shopsense.serving.workspace import Workspace

log = logging.getLogger(__name__)
api = APIRouter(tags=["marketing"], dependencies=[Depends(require_read)])
pages = APIRouter(include_in_schema=False, dependencies=[Depends(require_admin_page)])
Word = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")]
Channel = Literal["headline", "short", "description"]
Language = Literal["en", "zh"]
Tone = Literal["friendly", "playful", "premium", "practical"]


class CopyIn(BaseModel):
    """A copy request: the item, the channel (headline <= 30 chars, short <= 90, description <= 500),
    the language, how many variants, the tone, and optionally which praised aspects to use."""

    model_config = ConfigDict(extra="forbid")
    item_id: str = Field(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$")
    channel: Channel = "short"
    language: Language = "en"
    n: int = Field(default=3, ge=1, le=10)
    tone: Tone = "friendly"
    seed: int = Field(default=0, ge=0, le=2_147_483_647, description="Another seed gives other variants.")
    aspects: list[Word] | None = Field(default=None, max_length=10,
                                       description="Only these praised aspects may be used as review highlights.")
    banned_words: list[Word] = Field(default_factory=list, max_length=50,
                                     description="Words the copy must not contain (added to the defaults).")
    backend: Literal["configured", "template"] = Field(
        default="configured", description="configured: the server's SHOPSENSE_GENERATOR; template: always templates.")


class FactOut(BaseModel):
    kind: str
    key: str
    text: str


class ChecksOut(BaseModel):
    passed: bool
    violations: list[str]
    length: int
    limit: int
    removed: list[str] = Field(default_factory=list, description="Sentences removed because they broke a rule.")
    repaired_violations: list[str] = Field(default_factory=list)
    model_violations: list[str] | None = Field(default=None, description="What the model's own text broke.")


class VariantOut(BaseModel):
    text: str
    length: int
    backend: str
    fallback_used: bool = Field(description="The model's text failed the checks; the grounded draft is shown.")
    facts: list[FactOut]
    checks: ChecksOut


class CopyOut(BaseModel):
    item_id: str
    title: str
    channel: str
    language: str
    tone: str
    backend: str
    limit: int
    variants: list[VariantOut]
    rejected: list[dict[str, Any]]
    highlights: list[dict[str, Any]]
    highlights_source: Literal["opinions", "reviews"]


def _highlights(workspace: Workspace, item_id: str) -> dict[str, Any] | None:
    """The item's opinion summary when the store's opinion index is already built (never builds one here)."""
    if not workspace.opinions.built():
        return None
    index = workspace.opinions.ready()
    return summary_from_index(index, item_id) if index is not None else None


def _generator(workspace: Workspace) -> Any:
    from shopsense.text.generator import GeneratorError

    try:
        return workspace.generator()
    except GeneratorError as exc:
        raise ApiError(503, f"the configured generator is unavailable: {exc}") from exc


def _write(workspace: Workspace, body: CopyIn) -> dict[str, Any]:
    data = workspace.data()
    if body.item_id not in set(data.items["item_id"]):
        raise ApiError(404, f"unknown item {body.item_id!r}", field="item_id")
    generator = None if body.backend == "template" else _generator(workspace)
    summary = _highlights(workspace, body.item_id)
    try:
        result = generate_copy(data, body.item_id, body.channel, body.language, body.n, body.tone, body.seed,
                               generator, summary, body.aspects, body.banned_words)
    except CopyError as exc:
        raise ApiError(422, exc.message, field=exc.field) from exc
    return {**result.as_dict(), "highlights_source": "opinions" if summary else "reviews"}




@api.post("/v1/copy", response_model=CopyOut, dependencies=[Depends(copy_limit)])
async def write_copy(body: CopyIn, workspace: WorkspaceDep, caller: CallerDep, request: Request) -> dict[str, Any]:
    """N copy variants for an item; each lists the facts it used and its check results (claims,
    numbers, superlatives, banned words, length). Candidates that failed or near-duplicated are in ``rejected``.
    A language-model backend (not ``template``) spends the store's model time: it needs the admin key."""
    uses_model = body.backend != "template" and workspace.settings.generator != "template"
    if uses_model and not caller.admin:
        raise ApiError(403, "copy from the configured language model needs the admin key; backend=template "
                       "is open", field="backend")
    async with generation_slot(request):
        return await run_in_threadpool(_write, workspace, body)


@pages.get("/admin/copy", response_class=HTMLResponse)
async def copy_studio(request: Request, workspace: WorkspaceDep,
                      item: Annotated[str, Query(max_length=255)] = "", channel: Channel = "short",
                      language: Language = "en", tone: Tone = "friendly",
                      n: Annotated[int, Query(ge=1, le=10)] = 3, seed: Annotated[int, Query(ge=0, le=10_000)] = 0,
                      ) -> HTMLResponse:
    data = await run_in_threadpool(workspace.data)
    reviewed = data.reviews["item_id"].value_counts().index[:60] if len(data.reviews) else []
    titles = dict(zip(data.items["item_id"], data.items["title"], strict=True))
    context: dict[str, Any] = {
        "item": item, "channel": channel, "language": language, "tone": tone, "n": n, "seed": seed,
        "suggestions": [(i, str(titles[i])[:70]) for i in reviewed if i in titles],
        "result": None, "error": None}
    if item.strip():
        try:
            body = CopyIn(item_id=item.strip(), channel=channel, language=language, tone=tone, n=n, seed=seed)
            context["result"] = await run_in_threadpool(_write, workspace, body)
        except ApiError as exc:
            context["error"] = exc.message
        except ValueError:  # pydantic's ValidationError: control characters in the item id
            context["error"] = f"not a valid item id: {item!r}"
    return page(request, "copy_studio.html", None, status_code=404 if context["error"] else 200, **context)


router = APIRouter()
router.include_router(api)
router.include_router(pages)
