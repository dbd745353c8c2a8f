"""Dependencies injected into the routers: the served models, the store, and the API-key checks."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from shopsense.api.errors import ApiError
from shopsense.core.settings import Settings
from shopsense.core.store import Store
from shopsense.serving.runtime import ModelHolder, ServingState
from shopsense.serving.workspace import Workspace

API_KEY_HEADER = "X-API-Key"
_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                           description="Required by admin endpoints, and by read endpoints when reads are keyed.")


def get_workspace(request: Request) -> Workspace:
    """The process's :class:`Workspace` (built in the app's lifespan)."""
    return request.app.state.workspace


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.workspace.settings


def get_holder(request: Request) -> ModelHolder:
    return request.app.state.workspace.models


def get_store(request: Request) -> Store:
    return request.app.state.workspace.store


def served(holder: Annotated[ModelHolder, Depends(get_holder)]) -> ServingState:
    """The current models (checking the registry for a newer promotion first); 503 before any are loaded."""
    holder.maybe_reload()
    state = holder.state
    if state is None:
        raise ApiError(503, f"models are not loaded: {holder.error or 'still loading'}")
    return state


def _check_key(settings: Settings, given: str | None) -> None:
    if not settings.api_key:
        raise ApiError(403, "admin endpoints are disabled: set SHOPSENSE_API_KEY on the server", field=API_KEY_HEADER)
    if not given:
        raise ApiError(401, f"missing API key: send it in the {API_KEY_HEADER} header", field=API_KEY_HEADER)
    if not hmac.compare_digest(given.encode(), settings.api_key.encode()):
        raise ApiError(401, "wrong API key", field=API_KEY_HEADER)


def require_admin(settings: Annotated[Settings, Depends(get_settings_dep)],
                  key: Annotated[str | None, Security(_key_header)] = None) -> None:
    """Admin endpoints always need the key."""
    _check_key(settings, key)


def require_read(settings: Annotated[Settings, Depends(get_settings_dep)],
                 key: Annotated[str | None, Security(_key_header)] = None) -> None:
    """Read endpoints need the key only when ``SHOPSENSE_OPEN_READS=false``."""
    if not settings.open_reads:
        _check_key(settings, key)


State = Annotated[ServingState, Depends(served)]
WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
