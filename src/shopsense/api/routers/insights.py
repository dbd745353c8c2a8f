"""Review intelligence over HTTP: ``GET /v1/insights/items/{id}``, ``GET /v1/insights/alerts``,
``GET /v1/audit/items/{id}``, ``GET /v1/audit/ranking``, and the opinion dashboard page ``/admin/opinions``
(with its trend chart ``/admin/opinions/trend.png``).

The opinion index is built by ``shopsense train`` (or in the background on first use, answering 503 with
Retry-After meanwhile) and cached on disk (:mod:`shopsense.marketing.opinion_store`); the description
auditor is fitted once per index.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from shopsense.api.deps import require_read
from shopsense.api.errors import ApiError
from shopsense.api.identity import admin_session, is_admin, require_admin_page
from shopsense.api.routers.pages import page
from shopsense.marketing.alerts import detect_alerts
from shopsense.marketing.aspects import OpinionIndex
from shopsense.marketing.audit import DescriptionAuditor

ItemId = Annotated[str, Path(min_length=1, max_length=255)]
Freq = Literal["W", "M", "Q", "Y"]
TEST_NOTE = ("one-sided Fisher exact test of the window's negative share against the preceding windows' share, "
             "Benjamini-Hochberg over every aspect x window tested; alert when q <= alpha and the share rose by "
             "at least min_rise")
api = APIRouter(tags=["insights"], dependencies=[Depends(require_read)])
pages = APIRouter(include_in_schema=False, dependencies=[Depends(require_admin_page)])


async def _index(request: Request) -> OpinionIndex:
    """The opinion index, or 503 (with Retry-After while it is being built). Only an admin (or `shopsense
    train`) starts a build: it takes minutes of CPU."""
    opinions = request.app.state.workspace.opinions
    admin = is_admin(request) or admin_session(request) is not None
    index = await run_in_threadpool(opinions.ready, admin)
    if index is not None:
        return index
    failed = await run_in_threadpool(opinions.build_error)
    if await run_in_threadpool(opinions.building):
        raise ApiError(503, "the opinion index is being built from the store's reviews (a minute or two); try "
                       "again shortly", headers={"Retry-After": "30"})
    if failed:
        raise ApiError(503, f"the last opinion-index build failed ({failed}); an admin can start another with "
                       "POST /v1/admin/opinions/build")
    raise ApiError(503, "the opinion index is not built yet: `shopsense train` builds it, or an admin starts "
                   "it with POST /v1/admin/opinions/build")


async def _auditor(request: Request) -> DescriptionAuditor:
    index = await _index(request)
    return await run_in_threadpool(request.app.state.workspace.auditor, index)




@api.get("/v1/insights/items/{item_id}")
async def item_insights(request: Request, item_id: ItemId,
                        top: Annotated[int, Query(ge=1, le=50)] = 5,
                        quotes: Annotated[int, Query(ge=0, le=5)] = 2) -> dict[str, Any]:
    """An item's aspects (mentions, positive/neutral/negative, negative share), top praised and criticised
    aspects with quotes, and its quarterly trend."""
    auditor = await _auditor(request)
    if item_id not in auditor.index_:
        raise ApiError(404, f"unknown item {item_id!r}", field="item_id")
    index = auditor.opinions_
    summary = index.summary(top=top, n_quotes=quotes, item_id=item_id)
    trend = index.trend(freq="Q", top=top, item_id=item_id)
    return {"item_id": item_id, "title": str(auditor.items_.iloc[auditor.index_[item_id]]["title"]),
            **summary, "aspects": _records(index.aspect_table(item_id=item_id).head(50)),
            "trend": _records(trend.assign(period=trend["period"].astype(str)) if len(trend) else trend)}


@api.get("/v1/insights/alerts")
async def alerts(request: Request, freq: Freq = "M",
                 by: Literal["item", "brand", "category"] | None = None,
                 since: Annotated[str | None, Query(max_length=40, description="windows from this date")] = None,
                 aspect: Annotated[str | None, Query(max_length=100)] = None,
                 alpha: Annotated[float, Query(gt=0, le=0.5)] = 0.05,
                 min_rise: Annotated[float, Query(ge=0, le=1)] = 0.15) -> dict[str, Any]:
    """Significant rises in an aspect's negative share per window, each with representative quotes."""
    if since is not None:
        try:
            pd.Timestamp(since)
        except ValueError as exc:
            raise ApiError(422, f"not a date: {since!r} (use YYYY-MM-DD)", field="since") from exc
    index = await _index(request)
    found = await run_in_threadpool(detect_alerts, index.mentions, freq, 24, alpha, 5, 8, min_rise,
                                    [aspect] if aspect else None, by, since)
    return {"alerts": [a.as_dict() for a in found], "freq": freq, "alpha": alpha, "min_rise": min_rise,
            "test": TEST_NOTE, "model": index.model}


@api.get("/v1/audit/items/{item_id}")
async def audit_item(request: Request, item_id: ItemId) -> dict[str, Any]:
    """What the item's description leaves out (review aspects, attributes of similar items), its readability
    and length, a suggested rewrite, and its gain score."""
    auditor = await _auditor(request)
    if item_id not in auditor.index_:
        raise ApiError(404, f"unknown item {item_id!r}", field="item_id")
    return (await run_in_threadpool(auditor.audit, item_id)).as_dict()


@api.get("/v1/audit/ranking")
async def audit_ranking(request: Request,
                        top: Annotated[int, Query(ge=1, le=200)] = 20) -> dict[str, Any]:
    """The items that would gain most from a better description, highest score first."""
    auditor = await _auditor(request)
    ranked = await run_in_threadpool(auditor.rank, top)
    return {"items": [a.as_dict() for a in ranked]}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in frame.to_dict("records")]


def _brands(index: OpinionIndex, chosen: str, limit: int = 300) -> list[str]:
    """Brands with reviewed aspects, the most talked about first (cut at ``limit``), listed alphabetically."""
    counts = index.mentions.loc[index.mentions["brand"] != "", "brand"].value_counts()
    names = set(counts.index[:limit]) | ({chosen} if chosen else set())
    return sorted(names, key=str.lower)


def _scope(item: str, brand: str, category: str) -> dict[str, str | None]:
    return {"item_id": item or None, "brand": brand or None, "category": category or None}


@pages.get("/admin/opinions", response_class=HTMLResponse)
async def opinions_page(request: Request,
                        item: Annotated[str, Query(max_length=255)] = "",
                        brand: Annotated[str, Query(max_length=200)] = "",
                        category: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    try:
        auditor = await _auditor(request)
    except ApiError as exc:
        if exc.status != 503:
            raise
        response = page(request, "opinions_building.html", None, status_code=503, message=exc.message)
        response.headers.update(exc.headers or {})
        return response
    index = auditor.opinions_
    where = _scope(item, brand, category)
    summary = index.summary(top=6, **where)
    table = index.aspect_table(**where).head(15)
    if any(where.values()):
        found = await run_in_threadpool(detect_alerts, index.select(**where))
        ranking = [auditor.audit(item)] if item and item in auditor.index_ else []
    else:  # the overview every visit opens with: computed once per store generation and index
        workspace = request.app.state.workspace
        found, ranking = await run_in_threadpool(
            workspace.cached, "opinions-overview", (workspace.generation(), id(index)),
            lambda: (detect_alerts(index.select()), auditor.rank(10)))
    items = auditor.items_
    return page(request, "opinions.html", None, summary=summary, aspects=table.to_dict("records"),
                alerts=[a.as_dict() for a in found], audits=[a.as_dict() for a in ranking], item=item,
                brand=brand, category=category, brands=_brands(index, brand),
                categories=sorted({c.split(" > ")[0] for c in items["category"].dropna() if c}),
                scope=item or brand or category or "all reviews", test_note=TEST_NOTE,
                peak=int(table["mentions"].max()) if len(table) else 1, query=request.url.query)


@pages.get("/admin/opinions/trend.png")
async def trend_chart(request: Request, item: Annotated[str, Query(max_length=255)] = "",
                      brand: Annotated[str, Query(max_length=200)] = "",
                      category: Annotated[str, Query(max_length=200)] = "") -> Response:
    from shopsense.marketing.opinion_charts import trend_png

    index = await _index(request)
    where = _scope(item, brand, category)
    trend = index.trend(freq="Q", top=5, **where)
    png = await run_in_threadpool(trend_png, trend, f"Aspect trends: {item or brand or category or 'all reviews'}")
    return Response(png, media_type="image/png")


router = APIRouter()
router.include_router(api)
router.include_router(pages)
