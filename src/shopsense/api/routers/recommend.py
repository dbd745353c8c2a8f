"""Recommendations, similar items and trending: ``GET /v1/recommendations``, ``/v1/items/{id}/similar``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from shopsense.api.deps import State, WorkspaceDep, require_read
from shopsense.api.errors import ApiError
from shopsense.api.identity import CallerDep
from shopsense.api.items import items_response, make_filters, off_home_page
from shopsense.api.limits import recommend_limit
from shopsense.api.schemas import ItemsResponse
from shopsense.recommend.base import UnknownItem
from shopsense.recommend.filters import Filters

router = APIRouter(prefix="/v1", tags=["recommendations"],
                   dependencies=[Depends(require_read), Depends(recommend_limit)])

K = Annotated[int, Query(ge=1, le=100, description="How many items.")]
Price = Query(ge=0, le=1e9, allow_inf_nan=False)
Category = Query(min_length=1, max_length=200,
                 description="Category path prefix, any case: 'Hobbies', 'hobbies > models' and 'Hobb' all match "
                             "'Hobbies > Models' (the same on search and recommendations).")
ItemId = Annotated[str, Path(min_length=1, max_length=255)]


@router.get("/recommendations", response_model=ItemsResponse)
async def recommendations(
    state: State,
    workspace: WorkspaceDep,
    caller: CallerDep,
    user_id: Annotated[str | None, Query(min_length=1, max_length=255, description=(
        "Used only with the admin key (the store's backend); otherwise the shopper is whoever the shopper "
        "token says, and a visitor without one gets cold-start recommendations."))] = None,
    k: K = 10,
    category: Annotated[str | None, Category] = None,
    min_price: Annotated[float | None, Price] = None,
    max_price: Annotated[float | None, Price] = None,
    recent: Annotated[str | None, Query(max_length=5000, description="Comma-separated ids of items the "
                                                                     "visitor just viewed (cold start).")] = None,
) -> Response:
    """Personal recommendations for the verified shopper, explained. Unknown users and anonymous visitors get
    recommendations from their recent items if given, else what is trending: never an error."""
    user_id = caller.acting_for(user_id)
    filters = make_filters(category, min_price, max_price)
    recent_ids = [r.strip() for r in recent.split(",") if r.strip()][:50] if recent else None
    model, variant = state.model_for(user_id)
    key = ("recommendations", model.version, user_id, k, category, min_price, max_price, tuple(recent_ids or ()))

    def answer() -> tuple:
        recs, source = model.recommend(user_id, k, filters, recent_ids, off_home_page(workspace, state.catalog))
        return recs, model.version, variant, source

    # In the event loop, not a thread: a miss scores in well under a millisecond, less than the hop costs.
    return items_response(state, key, answer)


@router.get("/trending", response_model=ItemsResponse)
async def trending(state: State, workspace: WorkspaceDep, k: K = 10,
                   category: Annotated[str | None, Category] = None) -> Response:
    """What is popular in the store now, without the categories the store keeps off its home page
    (store.json's ``home_hidden``), or within ``category`` (which may name one of those)."""
    filters = make_filters(category, None, None)
    if category is None:
        filters = Filters.of(exclude=off_home_page(workspace, state.catalog))
    model = state.production
    return items_response(state, ("trending", model.version, k, category),
                          lambda: (model.recommend(None, k, filters, None)[0], model.version, "production",
                                   "trending"))


@router.get("/items/{item_id}/similar", response_model=ItemsResponse)
async def similar(
    state: State, item_id: ItemId, k: K = 10,
    category: Annotated[str | None, Category] = None,
    min_price: Annotated[float | None, Price] = None,
    max_price: Annotated[float | None, Price] = None,
) -> Response:
    """Items similar to ``item_id`` (404 when the catalog has no such item)."""
    filters = make_filters(category, min_price, max_price)
    model = state.production
    key = ("similar", model.version, item_id, k, category, min_price, max_price)
    try:
        return items_response(state, key, lambda: (model.similar(item_id, k, filters), model.version,
                                                   "production", "similar"))
    except UnknownItem:  # raised while building: nothing was cached
        raise ApiError(404, f"unknown item {item_id!r}", field="item_id") from None


@router.get("/items/{item_id}")
async def item(state: State, item_id: ItemId) -> dict:
    """One catalog item with its review summary."""
    if item_id not in state.catalog.items:
        raise ApiError(404, f"unknown item {item_id!r}", field="item_id")
    row = state.catalog.items[item_id]
    return {**state.catalog.item(item_id), "description": row["description"],
            "reviews": state.catalog.review_summary(item_id)}
