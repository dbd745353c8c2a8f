"""The FastAPI application: one router per capability, shared state injected, OpenAPI at ``/docs``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles

from shopsense.api.errors import install_error_handlers
from shopsense.api.identity import AdminSignInRequired
from shopsense.api.limits import Limits
from shopsense.api.middleware import BodyLimitAndMetrics, Metrics
from shopsense.api.routers import (
    admin,
    admin_pages,
    auth,
    chat,
    copy,
    events,
    health,
    insights,
    nlp,
    pages,
    recommend,
    search,
)
from shopsense.api.routers.admin_pages import admin_sign_in_required
from shopsense.core.logging import configure_logging, install_pii_filter
from shopsense.core.settings import Settings, get_settings
from shopsense.serving.config import ServingConfig
from shopsense.serving.runtime import settle_heap, share_interpreter_lock
from shopsense.serving.workspace import Workspace

MAX_BODY_BYTES = 1_000_000
STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"


def create_app(settings: Settings | None = None, config: ServingConfig | None = None) -> FastAPI:
    """Build the app for a prepared workspace; models load in the lifespan, not at import."""
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging()  # a server log must never carry a shopper's e-mail or card number
        install_pii_filter()
        workspace = await run_in_threadpool(Workspace, settings, config)
        app.state.workspace = workspace
        app.state.settings = settings
        app.state.metrics = metrics
        app.state.limits = await run_in_threadpool(Limits, settings, workspace.store.engine)
        await run_in_threadpool(workspace.models.load)
        stop_watching = workspace.models.watch()  # promotions are picked up off the request path
        settle_heap(full=True)  # the loaded models stay out of the garbage collector's full walks (p99 tails)
        share_interpreter_lock()  # reloads and retrains in background threads delay requests less
        try:
            yield
        finally:
            stop_watching.set()
            workspace.close()

    app = FastAPI(title="shopsense", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Recommendations, search, NLP and events for one store. Admin endpoints need "
                              "the X-API-Key header; a shopper is identified by a signed shopper token "
                              "(Authorization: Bearer), never by a user_id in the request.")
    install_error_handlers(app)
    app.add_exception_handler(AdminSignInRequired, admin_sign_in_required)
    app.add_middleware(BodyLimitAndMetrics, metrics=metrics, max_body_bytes=MAX_BODY_BYTES)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (health.router, auth.router, recommend.router, search.router, events.router, nlp.router,
                   admin.router, pages.router, admin_pages.router):
        app.include_router(router)
    app.include_router(insights.router)
    app.include_router(copy.router)
    app.include_router(chat.router)
    return app
