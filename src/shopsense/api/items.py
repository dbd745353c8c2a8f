"""Turning model output into the one item shape every list endpoint answers with."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable

import orjson
from fastapi.responses import Response

from shopsense.api.errors import ApiError
from shopsense.recommend.base import Recommendation
from shopsense.recommend.filters import Filters
from shopsense.serving.runtime import Catalog, ServingState
from shopsense.serving.workspace import Workspace


def items_response(state: ServingState, key: Hashable,
                   answer: Callable[[], tuple[Iterable[Recommendation], str | None, str | None, str | None]],
                   ) -> Response:
    """An :class:`~shopsense.api.schemas.ItemsResponse` for ``key`` (the endpoint and every parameter that
    changes the answer), from the served state's cache or from ``answer()`` -> (items, model version,
    variant, source), encoded straight to JSON (orjson): the rows come from the catalog and the model, so
    validating them again per request would only cost time."""

    def build() -> bytes:
        recs, version, variant, source = answer()
        return orjson.dumps({"items": item_rows(state.catalog, recs), "model_version": version,
                             "variant": variant, "source": source})

    return Response(state.responses.get_or_build(key, build), media_type="application/json")


def item_rows(catalog: Catalog, recs: Iterable[Recommendation]) -> list[dict]:
    out = []
    for r in recs:
        score = float(r.score) if math.isfinite(r.score) else 0.0
        out.append({**catalog.item(r.item_id), "score": round(score, 6), "explanation": r.explanation})
    return out


def make_filters(category: str | None, min_price: float | None, max_price: float | None) -> Filters | None:
    if min_price is not None and max_price is not None and min_price > max_price:
        raise ApiError(422, f"min_price ({min_price}) is above max_price ({max_price})", field="min_price")
    if category is None and min_price is None and max_price is None:
        return None
    return Filters.of(category=category or None, min_price=min_price, max_price=max_price)


def off_home_page(workspace: Workspace, catalog: Catalog) -> frozenset[str]:
    """Items of the categories the store keeps off its home page and its trending list (store.json's
    ``home_hidden``); search and a named category still find them."""
    identity = workspace.identity()
    return workspace.cached("off-home-page", (workspace.generation(), identity), lambda: frozenset(
        item_id for item_id, row in catalog.items.items() if identity.hides_on_home(row.get("category", ""))))
