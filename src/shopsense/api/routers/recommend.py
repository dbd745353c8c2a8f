"""Recommendations, similar items and trending: ``GET /v1/recommendations``, ``/v1/items/{id}/similar``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shopsense.api.deps import Reader, read_access
from shopsense.api.errors import ApiError
from shopsense.api.items import items_response, make_filters, off_home_page
from shopsense.api.schemas import ItemsResponse
from shopsense.recommend.base import UnknownItem
from shopsense.recommend.filters import Filters

router = APIRouter(prefix="/v1", tags=["recommendations"])
Access = Annotated[Reader, Depends(read_access("recommend"))]

K = Annotated[int, Query(ge=1, le=100, description="How many items.")]
CATEGORY_HELP = ("Category path prefix, any case: 'Hobbies', 'hobbies > models' and 'Hobb' all match "
                 "'Hobbies > Models' (the same on search and recommendations).")
Category = Query(min_length=1, max_length=200, description=CATEGORY_HELP)
ItemId = Annotated[str, Path(min_length=1, max_length=255)]


class ListQuery(BaseModel):
    """The query of a list endpoint: how many items and the filters. One model rather than a parameter each:
    FastAPI validates it in one call (cheaper per request), and the parameters are documented the same."""

    k: int = Field(10, ge=1, le=100, description="How many items.")
    category: str | None = Field(None, min_length=1, max_length=200, description=CATEGORY_HELP)
    min_price: float | None = Field(None, ge=0, le=1e9, allow_inf_nan=False)
    max_price: float | None = Field(None, ge=0, le=1e9, allow_inf_nan=False)


class RecommendationsQuery(ListQuery):
    user_id: str | None = Field(None, min_length=1, max_length=255, description=(
        "Used only with the admin key (the store's backend); otherwise the shopper is whoever the shopper "
        "token says, and a visitor without one gets cold-start recommendations."))
    recent: str | None = Field(None, max_length=5000, description="Comma-separated ids of items the visitor "
                                                                  "just viewed (cold start).")


@router.get("/recommendations", response_model=ItemsResponse)
async def recommendations(access: Access, query: Annotated[RecommendationsQuery, Query()]) -> Response:
    """Personal recommendations for the verified shopper, explained. Unknown users and anonymous visitors get
    recommendations from their recent items if given, else what is trending: never an error."""
    state, q = access.state, query
    user_id = access.caller.acting_for(q.user_id)
    filters = make_filters(q.category, q.min_price, q.max_price)
    recent_ids = [r.strip() for r in q.recent.split(",") if r.strip()][:50] if q.recent else None
    model, variant = state.model_for(user_id)
    key = ("recommendations", model.version, user_id, q.k, q.category, q.min_price, q.max_price,
           tuple(recent_ids or ()))

    def answer() -> tuple:
        recs, source = model.recommend(user_id, q.k, filters, recent_ids, off_home_page(access.workspace,
                                                                                           state.catalog))
        return recs, model.version, variant, source

    # In the event loop, not a thread: a miss scores in well under a millisecond, less than the hop costs.
    return items_response(state, key, answer)


@router.get("/trending", response_model=ItemsResponse)
async def trending(access: Access, k: K = 10, category: Annotated[str | None, Category] = None) -> Response:
    """What is popular in the store now, without the categories the store keeps off its home page
    (store.json's ``home_hidden``), or within ``category`` (which may name one of those)."""
    state = access.state
    filters = make_filters(category, None, None)
    if category is None:
        filters = Filters.of(exclude=off_home_page(access.workspace, state.catalog))
    model = state.production
    return items_response(state, ("trending", model.version, k, category),
                          lambda: (model.recommend(None, k, filters, None)[0], model.version, "production",
                                   "trending"))


@router.get("/items/{item_id}/similar", response_model=ItemsResponse)
async def similar(access: Access, item_id: ItemId, query: Annotated[ListQuery, Query()]) -> Response:
    """Items similar to ``item_id`` (404 when the catalog has no such item)."""
    state, q = access.state, query
    filters = make_filters(q.category, q.min_price, q.max_price)
    model = state.production
    key = ("similar", model.version, item_id, q.k, q.category, q.min_price, q.max_price)
    try:
        return items_response(state, key, lambda: (model.similar(item_id, q.k, filters), model.version,
                                                   "production", "similar"))
    except UnknownItem:  # raised while building: nothing was cached
        raise ApiError(404, f"unknown item {item_id!r}", field="item_id") from None


@router.get("/items/{item_id}")
async def item(access: Access, item_id: ItemId) -> dict:
    """One catalog item with its review summary."""
    state = access.state
    if item_id not in state.catalog.items:
        raise ApiError(404, f"unknown item {item_id!r}", field="item_id")
    row = state.catalog.items[item_id]
    return {**state.catalog.item(item_id), "description": row["description"],
            "reviews": state.catalog.review_summary(item_id)}
