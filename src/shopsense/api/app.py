"""The FastAPI application: one router per capability, shared state injected, OpenAPI at ``/docs``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shopsense.api.errors import install_error_handlers
from shopsense.api.middleware import BodyLimitAndMetrics, Metrics
from shopsense.api.routers import health
from shopsense.core.settings import Settings, get_settings

MAX_BODY_BYTES = 1_000_000


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for a prepared workspace; models load in the lifespan, not at import."""
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.metrics = metrics
        yield

    app = FastAPI(title="shopsense", version="1", lifespan=lifespan,
                  description="Recommendations, search, NLP and events for one store.")
    install_error_handlers(app)
    app.add_middleware(BodyLimitAndMetrics, metrics=metrics, max_body_bytes=MAX_BODY_BYTES)
    app.include_router(health.router)
    return app
