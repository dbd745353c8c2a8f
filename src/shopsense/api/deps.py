"""Dependencies injected into the routers: the workspace, the served models, the store (identity checks live
in :mod:`shopsense.api.identity`). They are ``async`` because they never block: FastAPI would otherwise run
each in a worker thread, and the hops cost more than the work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from shopsense.api.errors import ApiError
from shopsense.api.identity import AdminKey, Caller, caller_of, require_admin, require_read  # noqa: F401
from shopsense.api.limits import spend_token
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


@dataclass(frozen=True, slots=True)
class Reader:
    """What a public read endpoint answers from: the served models, the workspace and the verified caller."""

    state: ServingState
    workspace: Workspace
    caller: Caller


def read_access(limit: str) -> Callable[..., Awaitable[Reader]]:
    """The one dependency of a hot read endpoint: the read check (:func:`require_read`), one of the caller's
    ``limit`` tokens, the caller and the served models. One dependency instead of five: FastAPI's cost per
    request grows with every dependency it solves, and solving them was a quarter of a recommendation
    request (py-spy, benchmarks/bench_api_ceiling.py)."""

    async def dependency(request: Request, key: AdminKey = None) -> Reader:
        await require_read(request, key)
        caller = caller_of(request)
        await spend_token(request, limit, caller)
        return Reader(await served(request), request.app.state.workspace, caller)

    dependency.__name__ = f"{limit}_read_access"
    return dependency
