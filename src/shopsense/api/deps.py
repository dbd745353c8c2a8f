"""Dependencies injected into the routers: the workspace, the served models, the store (identity checks live
in :mod:`shopsense.api.identity`). They are ``async`` because they never block: FastAPI would otherwise run
each in a worker thread, and the hops cost more than the work."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shopsense.api.errors import ApiError
from shopsense.api.identity import require_admin, require_read  # noqa: F401 - routers take them from here
from shopsense.core.settings import Settings
from shopsense.core.store import Store
from shopsense.serving.runtime import ModelHolder, ServingState
from shopsense.serving.workspace import Workspace


async def get_workspace(request: Request) -> Workspace:
    """The process's :class:`Workspace` (built in the app's lifespan)."""
    return request.app.state.workspace


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.workspace.settings


async def get_holder(request: Request) -> ModelHolder:
    return request.app.state.workspace.models


async def get_store(request: Request) -> Store:
    return request.app.state.workspace.store


async def served(request: Request) -> ServingState:
    """The current models (checking the registry for a newer promotion first); 503 before any are loaded.
    Reads the holder itself rather than through a sub-dependency: every read endpoint solves this one."""
    holder: ModelHolder = request.app.state.workspace.models
    holder.maybe_reload()
    state = holder.state
    if state is None:
        raise ApiError(503, f"models are not loaded: {holder.error or 'still loading'}")
    return state


State = Annotated[ServingState, Depends(served)]
WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
