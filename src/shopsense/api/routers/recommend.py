"""Recommendations, similar items and trending: ``GET /v1/recommendations``, ``/v1/items/{id}/similar``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.concurrency import run_in_threadpool

from shopsense.api.deps import State, require_read
from shopsense.api.errors import ApiError
from shopsense.api.items import item_rows, make_filters
from shopsense.api.schemas import ItemsResponse
from shopsense.recommend.base import UnknownItem

router = APIRouter(prefix="/v1", tags=["recommendations"], dependencies=[Depends(require_read)])

K = Annotated[int, Query(ge=1, le=100, description="How many items.")]
Price = Query(ge=0, le=1e9, allow_inf_nan=False)
Category = Query(min_length=1, max_length=200,
                 description="Category path prefix, any case: 'Hobbies', 'hobbies > models' and 'Hobb' all match "
                             "'Hobbies > Models' (the same on search and recommendations).")
ItemId = Annotated[str, Path(min_length=1, max_length=255)]


@router.get("/recommendations", response_model=ItemsResponse)
async def recommendations(
    state: State,
    user_id: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    k: K = 10,
    category: Annotated[str | None, Category] = None,
    min_price: Annotated[float | None, Price] = None,
    max_price: Annotated[float | None, Price] = None,
    recent: Annotated[str | None, Query(max_length=5000, description="Comma-separated ids of items the "
                                                                     "visitor just viewed (cold start).")] = None,
) -> ItemsResponse:
    """Personal recommendations for ``user_id``, explained. Unknown users and anonymous visitors get
    recommendations from their recent items if given, else what is trending: never an error."""
    filters = make_filters(category, min_price, max_price)
    recent_ids = [r.strip() for r in recent.split(",") if r.strip()][:50] if recent else None
    model, variant = state.model_for(user_id)
    recs, source = await run_in_threadpool(model.recommend, user_id, k, filters, recent_ids)
    return ItemsResponse(items=item_rows(state.catalog, recs), model_version=model.version, variant=variant,
                         source=source)


@router.get("/trending", response_model=ItemsResponse)
async def trending(state: State, k: K = 10, category: Annotated[str | None, Category] = None) -> ItemsResponse:
    """What is popular in the store now (optionally within a category)."""
    filters = make_filters(category, None, None)
    model = state.production
    recs, _ = await run_in_threadpool(model.recommend, None, k, filters, None)
    return ItemsResponse(items=item_rows(state.catalog, recs), model_version=model.version, variant="production",
                         source="trending")


@router.get("/items/{item_id}/similar", response_model=ItemsResponse)
async def similar(
    state: State, item_id: ItemId, k: K = 10,
    category: Annotated[str | None, Category] = None,
    min_price: Annotated[float | None, Price] = None,
    max_price: Annotated[float | None, Price] = None,
) -> ItemsResponse:
    """Items similar to ``item_id`` (404 when the catalog has no such item)."""
    filters = make_filters(category, min_price, max_price)
    model = state.production
    try:
        recs = await run_in_threadpool(model.similar, item_id, k, filters)
    except UnknownItem:
        raise ApiError(404, f"unknown item {item_id!r}", field="item_id") from None
    return ItemsResponse(items=item_rows(state.catalog, recs), model_version=model.version, variant="production",
                         source="similar")


@router.get("/items/{item_id}")
async def item(state: State, item_id: ItemId) -> dict:
    """One catalog item with its review summary."""
    if item_id not in state.catalog.items:
        raise ApiError(404, f"unknown item {item_id!r}", field="item_id")
    row = state.catalog.items[item_id]
    return {**state.catalog.item(item_id), "description": row["description"],
            "reviews": state.catalog.review_summary(item_id)}
