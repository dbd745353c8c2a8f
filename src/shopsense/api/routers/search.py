"""Product search: ``GET /v1/search`` (BM25 + dense vectors, English and Chinese, with filters)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import Field

from shopsense.api.deps import Reader, read_access
from shopsense.api.errors import ApiError
from shopsense.api.routers.recommend import ListQuery
from shopsense.api.schemas import ItemsResponse
from shopsense.search import SearchFilters
from shopsense.serving.runtime import ServingState

router = APIRouter(prefix="/v1", tags=["search"])


class SearchQuery(ListQuery):
    q: str = Field(min_length=1, max_length=500, description="What the shopper typed.")


@router.get("/search", response_model=ItemsResponse)
async def search(access: Annotated[Reader, Depends(read_access("search"))],
                 query: Annotated[SearchQuery, Query()]) -> Response:
    """Items matching ``q``, each explained by what matched (title words, category, meaning). A query that
    matches nothing answers no items and ``suggestions`` (close catalog words, or the main categories)."""
    state, q, k, category = access.state, query.q, query.k, query.category
    min_price, max_price = query.min_price, query.max_price
    if not q.strip():
        raise ApiError(422, "the query is blank", field="q")
    if min_price is not None and max_price is not None and min_price > max_price:
        raise ApiError(422, f"min_price ({min_price}) is above max_price ({max_price})", field="min_price")
    if state.search is None:
        raise ApiError(503, "no search index is published; run `shopsense train`")
    key = ("search", state.search.version, q, k, category, min_price, max_price)
    filters = SearchFilters(category=category, min_price=min_price, max_price=max_price)
    # a miss runs the engine (BM25 and the encoder: milliseconds) off the event loop, once per key at a time
    body = await state.responses.get_or_build_once(key, lambda: run_in_threadpool(_answer, state, q, k, filters))
    return Response(body, media_type="application/json")


def _answer(state: ServingState, q: str, k: int, filters: SearchFilters) -> bytes:
    engine = state.search.engine
    hits = engine.search(q, k, filters)
    items = [{**state.catalog.item(h.item_id), "score": round(h.score, 6), "explanation": h.explanation}
             for h in hits]
    return orjson.dumps({"items": items, "model_version": state.search.version, "variant": "production",
                         "source": "search", "suggestions": [] if items else engine.suggest(q)})
