"""Admin endpoints (always keyed): retrain, promote, rollback, model listing, erasing a user's data."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from shopsense.api.deps import WorkspaceDep, get_holder, get_settings_dep, require_admin
from shopsense.api.errors import ApiError
from shopsense.core.settings import Settings
from shopsense.registry import NotFoundError, Registry, RegistryError, check_model_name
from shopsense.serving.erasure import erase_user, retire_user_models
from shopsense.serving.jobs import Jobs, run_apart
from shopsense.serving.pipeline import TrainOptions, train_apart
from shopsense.serving.runtime import ModelHolder
from shopsense.serving.workspace import Workspace

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Depends(require_admin)])
ModelName = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]


def _jobs(request: Request) -> Jobs:
    return request.app.state.workspace.jobs


class RetrainIn(BaseModel):
    """How to retrain: fold in (default) or refit from scratch; promote the result or keep it as candidate."""

    model_config = ConfigDict(extra="forbid")

    promote: bool | None = Field(default=None, description="true: always promote; false: never; null "
                                 "(default): promote each model that is not worse than production on validation")
    full: bool = False


class PromoteIn(BaseModel):
    """The version to promote to production (``v0003``, ``3`` or ``latest``)."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(default="latest", min_length=1, max_length=20, pattern=r"^(latest|v?\d{1,8})$")


def _retrain(workspace: Workspace, body: RetrainIn) -> dict[str, Any]:
    """The retrain in a process of its own (it would share the interpreter lock with this server's requests),
    then this process serves what it promoted."""
    options = TrainOptions.of_latest(workspace.registry, fold_in=not body.full, promote=body.promote, opinions=True)
    result = run_apart(train_apart, workspace.settings, options)
    workspace.models.load()
    return result


@router.post("/retrain", status_code=202)
def start_retrain(body: RetrainIn, workspace: WorkspaceDep) -> dict[str, Any]:
    """Queue a retrain from the store and the events (a background job; poll ``GET /v1/admin/jobs/{id}``)."""
    return workspace.jobs.start("retrain", lambda: _retrain(workspace, body))


@router.post("/opinions/build", status_code=202)
def build_opinions(workspace: WorkspaceDep) -> dict[str, Any]:
    """Build the review-opinion index of the store as it is now (a background job; `shopsense train` builds
    it too). Anonymous requests never start a build."""
    return workspace.jobs.start("opinions", lambda: {"mentions": int(len(workspace.opinions.load().mentions))})


@router.get("/jobs/{job_id}")
def job_status(job_id: Annotated[str, Path(min_length=1, max_length=64)],
               jobs: Annotated[Jobs, Depends(_jobs)]) -> dict[str, Any]:
    """A background job's status and result."""
    job = jobs.get(job_id)
    if job is None:
        raise ApiError(404, f"no job {job_id!r}", field="job_id")
    return job


@router.get("/models")
def models(settings: Annotated[Settings, Depends(get_settings_dep)],
           holder: Annotated[ModelHolder, Depends(get_holder)]) -> dict[str, Any]:
    """Every model in the registry: versions with their cards, and the aliases; plus what is being served."""
    registry = Registry(settings.artifacts_dir)
    out = {}
    for name in registry.models():
        out[name] = {"aliases": {k: v for k, v in registry.aliases(name).items() if k in ("latest", "production")},
                     "versions": [{"version": v.version, "created_at": v.created_at.isoformat(),
                                   "card": {k: c for k, c in v.card.items() if k != "files"}}
                                  for v in registry.versions(name)]}
    state = holder.state
    return {"models": out, "serving": None if state is None else
            {"recommender": state.production.version,
             "candidate": state.candidate.version if state.candidate else None,
             "search": state.search.version if state.search else None, "ab_share": state.ab_share}}


def _alias_change(settings: Settings, holder: ModelHolder, action: Callable[[Registry], Any]) -> dict[str, Any]:
    try:
        mv = action(Registry(settings.artifacts_dir))
    except NotFoundError as exc:
        raise ApiError(404, str(exc), field="version") from None
    except RegistryError as exc:
        raise ApiError(409, str(exc), field="model") from None
    holder.load()  # serve it now rather than at the next check
    return {"model": mv.model, "production": mv.version}


@router.post("/models/{model}/promote")
def promote(model: ModelName, body: PromoteIn, settings: Annotated[Settings, Depends(get_settings_dep)],
            holder: Annotated[ModelHolder, Depends(get_holder)]) -> dict[str, Any]:
    """Point production at a version; the server switches to it at once (other servers within a second)."""
    check_model_name(model)
    return _alias_change(settings, holder, lambda r: r.promote(model, body.version))


@router.post("/models/{model}/rollback")
def rollback(model: ModelName, settings: Annotated[Settings, Depends(get_settings_dep)],
             holder: Annotated[ModelHolder, Depends(get_holder)]) -> dict[str, Any]:
    """Point production back at the version promoted before the current one."""
    check_model_name(model)
    return _alias_change(settings, holder, lambda r: r.rollback(model))


UserIdPath = Annotated[str, Path(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$")]
UserIdQuery = Annotated[str, Query(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$",
                                   description="The user's id exactly as the events API took it ('/' included).")]


async def _erase(workspace: Workspace, user_id: str) -> dict[str, Any]:
    report = await run_in_threadpool(erase_user, workspace, user_id, retrain=False)
    job = workspace.jobs.start("erase-retrain", lambda: _retire(workspace, user_id, report.texts))
    return {**report.as_dict(), "retrain_job": job}


def _retire(workspace: Workspace, user_id: str, texts: list[str]) -> dict[str, Any]:
    retrained, retired = retire_user_models(workspace, user_id, texts)
    return {"retrained": retrained, "retired": retired}


@router.delete("/users")
async def delete_user_by_query(user_id: UserIdQuery, workspace: WorkspaceDep) -> dict[str, Any]:
    """Erase a user whose id a path cannot hold (``?user_id=a/b``); the same as ``DELETE /v1/admin/users/{id}``."""
    return await _erase(workspace, user_id)


@router.delete("/users/{user_id}")
async def delete_user(user_id: UserIdPath, workspace: WorkspaceDep) -> dict[str, Any]:
    """Erase a user everywhere: the store and event log, assistant sessions and tickets, opinion indexes and
    caches at once; then a queued job (never skipped) retrains the models without them and retires every
    registry version that holds them, so no rollback can serve them again."""
    return await _erase(workspace, user_id)
