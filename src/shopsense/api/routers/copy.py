"""Ad copy over HTTP: ``POST /v1/copy`` and the copy studio page ``/admin/copy``.

The store's tables are loaded once per import (keyed by the import's content hash) and the configured
generator (``SHOPSENSE_GENERATOR``) once per app. Review highlights come from the opinion index (praised
aspects with counts and quotes) once it is loaded in the background; until then, and in workspaces where
insights were never built, from the item's 4-5 star reviews: no request waits minutes for an index.
``highlights_source`` says which.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from shopsense.api.deps import app_singleton, get_settings_dep, get_store, require_read
from shopsense.api.errors import ApiError
from shopsense.core.records import StoreData
from shopsense.core.settings import Settings
from shopsense.core.store import Store
from shopsense.marketing.copy import CopyError
from shopsense.marketing.copy_service import generate_copy, opinion_index_built, summary_from_index

log = logging.getLogger(__name__)
templates = Jinja2Templates(directory=str(FsPath(__file__).resolve().parents[1] / "web" / "templates"))
api = APIRouter(tags=["marketing"], dependencies=[Depends(require_read)])
pages = APIRouter(include_in_schema=False, dependencies=[Depends(require_read)])
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


class _CopyState:
    """The store tables (reloaded after a new import) and the configured generator of one app."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: str | None = None
        self._data: StoreData | None = None
        self._generator: Any = None
        self._index: Any = None
        self._loader: threading.Thread | None = None

    def data(self, store: Store) -> StoreData:
        with self._lock:
            key = str((store.last_import() or {}).get("content_hash"))
            if self._data is None or key != self._key:
                self._data, self._key = store.load(), key
                self._index, self._loader = None, None  # a new import: its opinions must be reloaded
            return self._data

    def summary(self, settings: Settings, item_id: str) -> dict[str, Any] | None:
        """The item's opinion summary once the index is loaded. Loading (or rebuilding, minutes) runs in a
        background thread, started only where insights are in use (an index exists on disk); until it is
        done, copy quotes the item's 4-5 star reviews and no request waits."""
        with self._lock:
            index = self._index
            if index is None and self._loader is None and opinion_index_built(settings):
                self._loader = threading.Thread(target=self._load, args=(settings,), daemon=True,
                                                name="copy-opinions")
                self._loader.start()
        return summary_from_index(index, item_id) if index is not None else None

    def _load(self, settings: Settings) -> None:
        from shopsense.marketing.opinion_store import load_opinions

        try:
            index = load_opinions(settings)
        except Exception as exc:  # noqa: BLE001 - highlights are optional; copy works without them
            log.warning("copy highlights will quote reviews directly: no opinion index (%s)", exc)
            return
        with self._lock:
            self._index = index

    def generator(self, settings: Settings) -> Any:
        from shopsense.text.generator import GeneratorError, generator_from_settings

        with self._lock:
            if self._generator is None:
                try:
                    self._generator = generator_from_settings(settings)
                except GeneratorError as exc:
                    raise ApiError(503, f"the configured generator is unavailable: {exc}") from exc
            return self._generator


def _state(request: Request) -> _CopyState:
    return app_singleton(request, "copy_state", _CopyState)


def _write(state: _CopyState, settings: Settings, store: Store, body: CopyIn) -> dict[str, Any]:
    data = state.data(store)
    if body.item_id not in set(data.items["item_id"]):
        raise ApiError(404, f"unknown item {body.item_id!r}", field="item_id")
    generator = None if body.backend == "template" else state.generator(settings)
    summary = state.summary(settings, body.item_id)
    try:
        result = generate_copy(data, body.item_id, body.channel, body.language, body.n, body.tone, body.seed,
                               generator, summary, body.aspects, body.banned_words)
    except CopyError as exc:
        raise ApiError(422, exc.message, field=exc.field) from exc
    return {**result.as_dict(), "highlights_source": "opinions" if summary else "reviews"}


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
StoreDep = Annotated[Store, Depends(get_store)]


@api.post("/v1/copy", response_model=CopyOut)
async def write_copy(request: Request, body: CopyIn, settings: SettingsDep, store: StoreDep) -> dict[str, Any]:
    """N copy variants for an item; each lists the facts it used and its check results (claims,
    numbers, superlatives, banned words, length). Candidates that failed or near-duplicated are in ``rejected``."""
    return await run_in_threadpool(_write, _state(request), settings, store, body)


@pages.get("/admin/copy", response_class=HTMLResponse)
async def copy_studio(request: Request, settings: SettingsDep, store: StoreDep,
                      item: Annotated[str, Query(max_length=255)] = "", channel: Channel = "short",
                      language: Language = "en", tone: Tone = "friendly",
                      n: Annotated[int, Query(ge=1, le=10)] = 3, seed: Annotated[int, Query(ge=0, le=10_000)] = 0,
                      ) -> HTMLResponse:
    state = _state(request)
    data = await run_in_threadpool(state.data, store)
    reviewed = data.reviews["item_id"].value_counts().index[:60] if len(data.reviews) else []
    titles = dict(zip(data.items["item_id"], data.items["title"], strict=True))
    context: dict[str, Any] = {
        "item": item, "channel": channel, "language": language, "tone": tone, "n": n, "seed": seed,
        "suggestions": [(i, str(titles[i])[:70]) for i in reviewed if i in titles],
        "result": None, "error": None, "user_id": "", "users": [], "known": False}
    if item.strip():
        try:
            body = CopyIn(item_id=item.strip(), channel=channel, language=language, tone=tone, n=n, seed=seed)
            context["result"] = await run_in_threadpool(_write, state, settings, store, body)
        except ApiError as exc:
            context["error"] = exc.message
        except ValueError:  # pydantic's ValidationError: control characters in the item id
            context["error"] = f"not a valid item id: {item!r}"
    response = templates.TemplateResponse(request, "copy_studio.html", context)
    if context["error"]:
        response.status_code = 404
    return response


router = APIRouter()
router.include_router(api)
router.include_router(pages)
