"""Product search: ``GET /v1/search`` (BM25 + dense vectors, English and Chinese, with filters)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from shopsense.api.deps import State, require_read
from shopsense.api.errors import ApiError
from shopsense.api.routers.recommend import Category, K, Price
from shopsense.api.schemas import ItemOut, ItemsResponse
from shopsense.search import SearchFilters

router = APIRouter(prefix="/v1", tags=["search"], dependencies=[Depends(require_read)])


@router.get("/search", response_model=ItemsResponse)
async def search(
    state: State,
    q: Annotated[str, Query(min_length=1, max_length=500, description="What the shopper typed.")],
    k: K = 10,
    category: Annotated[str | None, Category] = None,
    min_price: Annotated[float | None, Price] = None,
    max_price: Annotated[float | None, Price] = None,
) -> ItemsResponse:
    """Items matching ``q``; each result says which rankings found it."""
    if not q.strip():
        raise ApiError(422, "the query is blank", field="q")
    if min_price is not None and max_price is not None and min_price > max_price:
        raise ApiError(422, f"min_price ({min_price}) is above max_price ({max_price})", field="min_price")
    if state.search is None:
        raise ApiError(503, "no search index is published; run `shopsense train`")
    filters = SearchFilters(category=category, min_price=min_price, max_price=max_price)
    hits = await run_in_threadpool(state.search.engine.search, q, k, filters)
    items = []
    for h in hits:
        items.append(ItemOut(**state.catalog.item(h.item_id), score=round(h.score, 6), explanation=h.explanation))
    return ItemsResponse(items=items, model_version=state.search.version, variant="production", source="search")
