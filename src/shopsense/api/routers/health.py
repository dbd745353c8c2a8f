"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shopsense.api.identity import require_admin

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Models are not loaded yet (the body says why)."}})
def readyz(request: Request) -> JSONResponse:
    """Ready when the production recommender (and the search index, if published) are loaded."""
    holder = request.app.state.workspace.models
    holder.maybe_reload()
    state = holder.state
    if state is None:
        return JSONResponse(status_code=503, content={"status": "not ready", "detail": holder.error or "loading",
                                                      "errors": []})
    return JSONResponse({"status": "ready", "recommender": state.production.version,
                         "candidate": state.candidate.version if state.candidate else None,
                         "search": state.search.version if state.search else None})


@router.get("/metrics", response_class=Response, dependencies=[Depends(require_admin)])
def metrics(request: Request) -> Response:
    """Request counts, latencies and served model versions in the Prometheus text format (admin key in
    ``X-API-Key`` or, for Prometheus, ``Authorization: Bearer <key>``)."""
    m = request.app.state.metrics
    state = request.app.state.workspace.models.state
    m.model_version.clear()
    if state is not None:
        m.model_version.labels("recommender", state.production.version).set(1)
        if state.candidate is not None:
            m.model_version.labels("recommender_candidate", state.candidate.version).set(1)
        if state.search is not None:
            m.model_version.labels("search", state.search.version).set(1)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
