"""Server-rendered pages: the storefront (home, product, search; the demo shopper switcher in demo mode) and
the admin dashboard (admins only)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path as FsPath
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from shopsense.api.deps import State, WorkspaceDep, require_read
from shopsense.api.errors import ApiError
from shopsense.api.identity import (
    SHOPPER_COOKIE,
    CallerDep,
    admin_session,
    caller_of,
    csrf_token,
    require_admin_page,
)
from shopsense.api.items import item_rows, off_home_page
from shopsense.api.limits import search_limit
from shopsense.core.identity import SHOPPER
from shopsense.core.media import MEDIA_NAME
from shopsense.core.settings import Settings
from shopsense.core.store import Store
from shopsense.recommend.base import UnknownItem
from shopsense.recommend.filters import Filters
from shopsense.registry import Registry
from shopsense.search import SearchFilters
from shopsense.serving.ab import report_ab
from shopsense.serving.workspace import Workspace

WEB = FsPath(__file__).resolve().parents[1] / "web"
templates = Jinja2Templates(directory=str(WEB / "templates"))
router = APIRouter(include_in_schema=False, dependencies=[Depends(require_read)])
_DAYS = 30
DEMO_SHOPPER_TTL = 86400


def page(request: Request, name: str, state: Any, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page of the storefront or the dashboard, with what the header needs: the verified shopper, the
    demo shoppers (demo mode only: a plain ``serve`` never lists real shoppers) and the admin's CSRF token."""
    caller = caller_of(request)
    settings = request.app.state.workspace.settings
    shopper = caller.user_id
    known = shopper is not None and state is not None and shopper in state.production.model.dataset_.user_index
    return templates.TemplateResponse(request, name, {
        "store": request.app.state.workspace.identity(), "shopper": shopper, "known": known, "demo": settings.demo,
        "demo_shoppers": state.catalog.top_users if settings.demo and state is not None else [],
        "categories": state.catalog.categories if state is not None else [],
        "admin": admin_session(request) is not None, "csrf": csrf_token(request), **context},
        status_code=status_code)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, state: State, caller: CallerDep) -> HTMLResponse:
    model, variant = state.model_for(caller.user_id)
    hidden = off_home_page(request.app.state.workspace, state.catalog)
    recs, source = await run_in_threadpool(model.recommend, caller.user_id, 8, Filters.of(exclude=hidden), None)
    # "Trending" never repeats the first list: a new visitor would otherwise see the same eight items twice
    shown = hidden | {r.item_id for r in recs}
    trending, _ = await run_in_threadpool(state.production.recommend, None, 8, Filters.of(exclude=shown), None)
    return page(request, "home.html", state, recs=item_rows(state.catalog, recs), source=source,
                trending=item_rows(state.catalog, trending), version=model.version, variant=variant,
                trending_version=state.production.version)


@router.get("/product/{item_id}", response_class=HTMLResponse)
async def product(request: Request, state: State, item_id: Annotated[str, Path(max_length=255)]) -> HTMLResponse:
    if item_id not in state.catalog.items:
        return page(request, "missing.html", state, status_code=404, item_id=item_id)
    try:
        similar = await run_in_threadpool(state.production.similar, item_id, 6, None)
    except UnknownItem:
        similar = []
    item = {**state.catalog.item(item_id), "description": state.catalog.items[item_id]["description"]}
    return page(request, "product.html", state, item=item, similar=item_rows(state.catalog, similar),
                reviews=state.catalog.review_summary(item_id), version=state.production.version)


@router.get("/media/{name}")
async def media(request: Request, name: Annotated[str, Path(max_length=64, pattern=MEDIA_NAME)]) -> Response:
    """An image the store shipped as a file (named by its content, so a browser may keep it for good)."""
    found = await run_in_threadpool(request.app.state.workspace.store.media, name)
    if found is None:
        raise ApiError(404, f"this store has no image {name!r}")
    return Response(found.data, media_type=found.content_type,
                    headers={"Cache-Control": "public, max-age=31536000, immutable"})


@router.get("/search", response_class=HTMLResponse, dependencies=[Depends(search_limit)])
async def search_page(request: Request, state: State, q: Annotated[str, Query(max_length=500)] = "",
                      category: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    results: list[dict] = []
    if q.strip() and state.search is not None:
        hits = await run_in_threadpool(state.search.engine.search, q, 24, SearchFilters(category=category or None))
        results = [{**state.catalog.item(h.item_id), "score": h.score, "explanation": h.explanation} for h in hits]
    return page(request, "search.html", state, q=q, category=category, results=results,
                version=state.search.version if state.search else None)


@router.post("/demo/shopper")
async def demo_sign_in(request: Request, state: State, user: Annotated[str, Form(max_length=255)] = "",
                       ) -> RedirectResponse:
    """Demo mode: sign in as one of the demo shoppers through the same token flow a store uses ("" signs
    out). Off outside demo mode."""
    if not request.app.state.workspace.settings.demo:
        raise ApiError(404, "the demo shopper switcher is on only in `shopsense demo`")
    response = RedirectResponse("/", status_code=303)
    if not user:
        request.state.clear_shopper_cookie = True
        return response
    if user not in state.catalog.top_users:
        raise ApiError(422, f"{user!r} is not one of the demo shoppers", field="user")
    token = request.app.state.workspace.signer.mint(user, SHOPPER, DEMO_SHOPPER_TTL)
    request.state.set_cookies = [(SHOPPER_COOKIE, token, DEMO_SHOPPER_TTL, "lax")]
    return response


def _dashboard(settings: Settings, store: Store) -> dict[str, Any]:
    registry = Registry(settings.artifacts_dir)
    models = []
    for name in registry.models():
        aliases = registry.aliases(name)
        for v in reversed(registry.versions(name)):
            metrics = v.card.get("metrics") or {}
            models.append({"model": name, "version": v.version, "created_at": v.created_at.strftime("%Y-%m-%d %H:%M"),
                           "production": aliases.get("production") == v.version,
                           "latest": aliases.get("latest") == v.version, "algorithm": v.card.get("algorithm", ""),
                           "mode": v.card.get("mode", ""), "metrics": _metric_text(metrics)})
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=_DAYS)
    events = store.events_since(None)
    recent = events.tail(20).iloc[::-1]
    window = events[events["created_at"] >= pd.Timestamp(since)]
    per_day = _per_day(window)
    return {"models": models, "counts": {**store.counts(), "shoppers": store.shoppers()}, "per_day": per_day,
            "types": sorted(window["type"].unique()) if len(window) else [],
            "recent": recent.to_dict("records"), "ab": report_ab(events).to_dict("records"),
            "total_events": int(len(events))}


def _metric_text(metrics: dict[str, Any]) -> str:
    if metrics.get("status") == "skipped":
        return f"validation skipped: {metrics.get('reason', '')}"
    parts = []
    for key, value in metrics.items():
        if isinstance(value, dict) and "hit_rate@10" in value:
            parts.append(f"{key}: HR@10 {value['hit_rate@10']:.3f}, NDCG@10 {value['ndcg@10']:.3f}")
    return "; ".join(parts) + (f" ({metrics['users']} users)" if "users" in metrics else "")


def _per_day(events: pd.DataFrame) -> list[dict[str, Any]]:
    if len(events) == 0:
        return []
    days = events["created_at"].dt.strftime("%Y-%m-%d")
    table = events.groupby([days, "type"]).size().unstack(fill_value=0).sort_index()
    return [{"day": day, "counts": {str(t): int(n) for t, n in row.items()}, "total": int(row.sum())}
            for day, row in table.iterrows()]


@router.get("/admin", response_class=HTMLResponse, dependencies=[Depends(require_admin_page)])
async def admin(request: Request, state: State, workspace: WorkspaceDep) -> HTMLResponse:
    key = (workspace.generation(), workspace.store.events_summary(), _registry_state(workspace.registry))
    data = await run_in_threadpool(workspace.cached, "dashboard", key,
                                   lambda: _dashboard(workspace.settings, workspace.store))
    tickets = await run_in_threadpool(_tickets, workspace)
    peak = max([d["total"] for d in data["per_day"]] + [1])
    return page(request, "admin.html", state, peak=peak, serving=state, tickets=tickets, **data)


def _registry_state(registry: Registry) -> tuple:
    """Changes whenever a version is published, promoted, rolled back or retired (a cheap directory read)."""
    return tuple((m, tuple(registry.version_names(m)), registry.production_version(m))
                 for m in registry.models())


def _tickets(workspace: Workspace) -> list[dict[str, Any]]:
    return workspace.sessions().tickets(50)
