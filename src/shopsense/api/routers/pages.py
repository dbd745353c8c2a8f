"""Server-rendered pages: the storefront (home, product, search, user switcher) and the admin dashboard."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path as FsPath
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from shopsense.api.deps import State, get_settings_dep, get_store, require_read
from shopsense.api.items import item_rows
from shopsense.core.settings import Settings
from shopsense.core.store import Store
from shopsense.recommend.base import UnknownItem
from shopsense.registry import Registry
from shopsense.search import SearchFilters
from shopsense.serving.ab import report_ab

WEB = FsPath(__file__).resolve().parents[1] / "web"
templates = Jinja2Templates(directory=str(WEB / "templates"))
router = APIRouter(include_in_schema=False, dependencies=[Depends(require_read)])
USER_COOKIE = "shopsense_user"
_DAYS = 30


def _user(request: Request, user: str | None) -> str:
    """The demo shopper: ?user= (switcher) or the cookie; a new visitor gets a fresh anonymous id."""
    chosen = (user if user is not None else request.cookies.get(USER_COOKIE, "")).strip()[:255]
    return chosen or f"visitor-{secrets.token_hex(4)}"


def _page(request: Request, name: str, user_id: str, state: Any, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, {
        "user_id": user_id, "users": state.catalog.top_users, "categories": state.catalog.categories,
        "known": user_id in state.production.model.dataset_.user_index, **context})
    response.set_cookie(USER_COOKIE, user_id, samesite="lax", max_age=30 * 86400)
    return response


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, state: State, user: Annotated[str | None, Query(max_length=255)] = None,
               ) -> HTMLResponse:
    user_id = _user(request, user)
    model, variant = state.model_for(user_id)
    recs, source = await run_in_threadpool(model.recommend, user_id, 8, None, None)
    trending, _ = await run_in_threadpool(state.production.recommend, None, 8, None, None)
    return _page(request, "home.html", user_id, state, recs=item_rows(state.catalog, recs), source=source,
                 trending=item_rows(state.catalog, trending), version=model.version, variant=variant,
                 trending_version=state.production.version)


@router.get("/product/{item_id}", response_class=HTMLResponse)
async def product(request: Request, state: State, item_id: Annotated[str, Path(max_length=255)]) -> HTMLResponse:
    user_id = _user(request, None)
    if item_id not in state.catalog.items:
        response = _page(request, "missing.html", user_id, state, item_id=item_id)
        response.status_code = 404
        return response
    try:
        similar = await run_in_threadpool(state.production.similar, item_id, 6, None)
    except UnknownItem:
        similar = []
    item = {**state.catalog.item(item_id), "description": state.catalog.items[item_id]["description"]}
    return _page(request, "product.html", user_id, state, item=item, similar=item_rows(state.catalog, similar),
                 reviews=state.catalog.review_summary(item_id), version=state.production.version)


@router.get("/search", response_class=HTMLResponse)
async def search_page(request: Request, state: State, q: Annotated[str, Query(max_length=500)] = "",
                      category: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    user_id = _user(request, None)
    results: list[dict] = []
    if q.strip() and state.search is not None:
        hits = await run_in_threadpool(state.search.engine.search, q, 24, SearchFilters(category=category or None))
        for h in hits:
            how = [n for n, r in (("keywords", h.lexical_rank), ("meaning", h.dense_rank)) if r]
            results.append({**state.catalog.item(h.item_id), "score": h.score,
                            "explanation": f"Matches your search by {' and '.join(how)}."})
    return _page(request, "search.html", user_id, state, q=q, category=category, results=results,
                 version=state.search.version if state.search else None)


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
    return {"models": models, "counts": store.counts(), "per_day": per_day,
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


@router.get("/admin", response_class=HTMLResponse)
async def admin(request: Request, state: State, settings: Annotated[Settings, Depends(get_settings_dep)],
                store: Annotated[Store, Depends(get_store)]) -> HTMLResponse:
    data = await run_in_threadpool(_dashboard, settings, store)
    peak = max([d["total"] for d in data["per_day"]] + [1])
    return _page(request, "admin.html", _user(request, None), state, peak=peak, serving=state, **data)
