"""The FastAPI application: one router per capability, shared state injected, OpenAPI at ``/docs``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles

from shopsense.api.errors import install_error_handlers
from shopsense.api.middleware import BodyLimitAndMetrics, Metrics
from shopsense.api.routers import admin, chat, copy, events, health, insights, nlp, pages, recommend, search
from shopsense.core.settings import Settings, get_settings
from shopsense.serving.config import ServingConfig
from shopsense.serving.workspace import Workspace

MAX_BODY_BYTES = 1_000_000
STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"


def create_app(settings: Settings | None = None, config: ServingConfig | None = None) -> FastAPI:
    """Build the app for a prepared workspace; models load in the lifespan, not at import."""
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        workspace = await run_in_threadpool(Workspace, settings, config)
        app.state.workspace = workspace
        app.state.settings = settings
        app.state.metrics = metrics
        await run_in_threadpool(workspace.models.load)
        try:
            yield
        finally:
            workspace.close()

    app = FastAPI(title="shopsense", version="1", lifespan=lifespan,
                  description="Recommendations, search, NLP and events for one store. Admin endpoints need "
                              "the X-API-Key header.")
    install_error_handlers(app)
    app.add_middleware(BodyLimitAndMetrics, metrics=metrics, max_body_bytes=MAX_BODY_BYTES)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (health.router, recommend.router, search.router, events.router, nlp.router, admin.router,
                   pages.router):
        app.include_router(router)
    app.include_router(insights.router)
    app.include_router(copy.router)
    app.include_router(chat.router)
    return app
