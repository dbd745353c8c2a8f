"""Admin endpoints (always keyed): retrain, promote, rollback, model listing, erasing a user's data."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from shopsense.api.deps import get_holder, get_settings_dep, get_store, require_admin
from shopsense.api.errors import ApiError
from shopsense.core.settings import Settings
from shopsense.core.store import Store
from shopsense.registry import NotFoundError, Registry, RegistryError, check_model_name
from shopsense.serving.runtime import ModelHolder
from shopsense.serving.training import retrain

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Depends(require_admin)])
ModelName = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]


class Jobs:
    """One background job at a time (retraining is CPU-heavy on a 2-core box); remembers the last ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.jobs: dict[str, dict[str, Any]] = {}
        self._running: str | None = None

    def start(self, kind: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            if self._running is not None:
                raise ApiError(409, f"job {self._running} is still running; try again when it ends", field="job")
            job_id = uuid.uuid4().hex[:12]
            job = {"id": job_id, "kind": kind, "status": "running", "started_at": _now(), "result": None,
                   "error": None}
            self.jobs[job_id] = job
            self._running = job_id
        threading.Thread(target=self._run, args=(job, work), name=f"shopsense-{kind}", daemon=True).start()
        return dict(job)

    def _run(self, job: dict[str, Any], work: Callable[[], dict[str, Any]]) -> None:
        try:
            job["result"] = work()
            job["status"] = "done"
        except Exception as exc:  # reported through the job, and logged (masked) with its traceback
            log.exception("job %s failed", job["id"])
            job.update(status="failed", error=str(exc))
        finally:
            job["finished_at"] = _now()
            with self._lock:
                self._running = None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _jobs(request: Request) -> Jobs:
    return request.app.state.jobs


class RetrainIn(BaseModel):
    """How to retrain: fold in (default) or refit from scratch; promote the result or keep it as candidate."""

    model_config = ConfigDict(extra="forbid")

    promote: bool = False
    full: bool = False


class PromoteIn(BaseModel):
    """The version to promote to production (``v0003``, ``3`` or ``latest``)."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(default="latest", min_length=1, max_length=20, pattern=r"^(latest|v?\d{1,8})$")


def _summary(result: Any, holder: ModelHolder | None = None) -> dict[str, Any]:
    if holder is not None and result.promoted:
        holder.load()  # serve the promoted version now rather than at the next registry check
    return {"mode": result.mode, "promoted": result.promoted, "notes": result.notes,
            "recommender": result.recommender.version if result.recommender else None,
            "search": result.search.version if result.search else None}


@router.post("/retrain", status_code=202)
def start_retrain(body: RetrainIn, settings: Annotated[Settings, Depends(get_settings_dep)],
                  jobs: Annotated[Jobs, Depends(_jobs)],
                  holder: Annotated[ModelHolder, Depends(get_holder)]) -> dict[str, Any]:
    """Start folding new events into the models (a background job; poll ``GET /v1/admin/jobs/{id}``)."""
    return jobs.start("retrain", lambda: _summary(retrain(settings, promote=body.promote, full=body.full), holder))


@router.get("/jobs/{job_id}")
def job_status(job_id: Annotated[str, Path(min_length=1, max_length=64)],
               jobs: Annotated[Jobs, Depends(_jobs)]) -> dict[str, Any]:
    """A background job's status and result."""
    job = jobs.jobs.get(job_id)
    if job is None:
        raise ApiError(404, f"no job {job_id!r}", field="job_id")
    return dict(job)


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


def _erase_conversations(store: Store, user_id: str) -> dict[str, int]:
    """The assistant's sessions and hand-over tickets of the user (its own tables on the same database)."""
    from shopsense.assistant.state import SessionStore

    return SessionStore(store.engine).delete_user(user_id)


@router.delete("/users/{user_id}")
async def delete_user(user_id: Annotated[str, Path(min_length=1, max_length=255)],
                      store: Annotated[Store, Depends(get_store)],
                      settings: Annotated[Settings, Depends(get_settings_dep)],
                      jobs: Annotated[Jobs, Depends(_jobs)],
                      holder: Annotated[ModelHolder, Depends(get_holder)]) -> dict[str, Any]:
    """Erase a user from the store and the event log (one transaction), then refit and promote the models
    without them (a background job), so no served model keeps what it learned from that user."""
    removed = await run_in_threadpool(store.delete_user, user_id)
    removed.update(await run_in_threadpool(_erase_conversations, store, user_id))
    job = None
    if any(removed.values()):
        try:
            job = jobs.start("erase-retrain",
                             lambda: _summary(retrain(settings, promote=True, full=True), holder))
        except ApiError:
            job = {"status": "not started: another job is running; run `shopsense retrain --full --promote`"}
    return {"user_id": user_id, "removed": removed, "retrain_job": job}
