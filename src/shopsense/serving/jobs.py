"""Background jobs of one workspace (retraining after events or an erasure): a FIFO queue with one worker.

Retraining is CPU-heavy on a 2-core box, so jobs run one at a time, in the order they were queued; a job
is never dropped because another one runs (an erasure's retrain waits its turn instead of being skipped).
With a ``directory`` (the workspace's ``jobs/``), every record is also a JSON file there and a job holds a
file lock while it runs: with ``serve --workers N`` any worker answers ``GET /v1/admin/jobs/{id}`` for a job
another one started, and jobs of all the workers still run one at a time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from shopsense.core.atomic import write_json_atomic

log = logging.getLogger(__name__)
_KEEP = 200  # finished jobs remembered for GET /v1/admin/jobs/{id}
JOB_NICENESS = 10  # a retrain takes the CPU the requests leave


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Jobs:
    """Queued background work with its status: ``queued`` -> ``running`` -> ``done`` | ``failed``."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.jobs: dict[str, dict[str, Any]] = {}
        self._queue: queue.Queue[tuple[dict[str, Any], Callable[[], dict[str, Any]]]] = queue.Queue()
        self._worker: threading.Thread | None = None

    def start(self, kind: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Queue ``work``; returns the job's record (poll :meth:`get`)."""
        job = {"id": uuid.uuid4().hex[:12], "kind": kind, "status": "queued", "queued_at": _now(),
               "started_at": None, "result": None, "error": None}
        with self._lock:
            self.jobs[job["id"]] = job
            while len(self.jobs) > _KEEP:
                oldest = next(iter(self.jobs))
                if self.jobs[oldest]["status"] in ("queued", "running"):
                    break
                del self.jobs[oldest]
            self._save(job)
            self._queue.put((job, work))
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="shopsense-jobs", daemon=True)
                self._worker.start()
        return dict(job)

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            job = self.jobs.get(job_id)
            if job is not None:
                return dict(job)
        if self.directory is None or not job_id.isalnum():
            return None
        try:  # a job another server process of this workspace started
            return json.loads((self.directory / f"{job_id}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _save(self, job: dict[str, Any]) -> None:
        if self.directory is None:
            return
        write_json_atomic(self.directory / f"{job['id']}.json", job)
        finished = sorted((p for p in self.directory.glob("*.json")), key=lambda p: p.stat().st_mtime)
        for old in finished[:-_KEEP]:
            old.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """One job at a time across every process of the workspace (a lock file; released if a process dies)."""
        if self.directory is None:
            yield
            return
        with (self.directory / ".run.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def wait(self, timeout: float | None = None) -> None:
        """Block until every queued job has finished (tests, and the CLI before it exits)."""
        if timeout is None:
            self._queue.join()
        else:
            _join(self._queue, timeout)

    def _run(self) -> None:
        _yield_to_requests()
        while True:
            job, work = self._queue.get()  # a daemon thread: it waits for the next job for the process's life
            try:
                with self._turn():
                    job.update(status="running", started_at=_now())
                    self._save(job)
                    try:
                        job["result"] = work()
                        job["status"] = "done"
                    except Exception as exc:  # reported through the job, and logged (masked) with its traceback
                        log.exception("job %s failed", job["id"])
                        job.update(status="failed", error=str(exc))
                    job["finished_at"] = _now()
                    self._save(job)
            except (OSError, TypeError, ValueError):  # the record could not be written: memory still has it
                log.exception("job %s: its record could not be saved", job["id"])
            finally:
                self._queue.task_done()


def run_apart(work: Callable[..., Any], *args: Any) -> Any:
    """``work(*args)`` in a process of its own, at the job's lower CPU priority; its result (or exception).

    For work that is long Python, such as a retrain. Run in a server's job thread it would share that process's
    interpreter lock with the requests; a process of its own shares only the cores. ``work`` and ``args``
    must pickle. The process is spawned fresh (never forked from a server's threads) and gone afterwards, with
    everything it loaded."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_apart_process) as pool:
        return pool.submit(work, *args).result()


def _apart_process() -> None:
    from shopsense.core.logging import configure_logging

    configure_logging()  # the child's records are masked like the server's
    with contextlib.suppress(AttributeError, OSError):
        os.nice(JOB_NICENESS)


def _yield_to_requests() -> None:
    """Make the calling (job) thread give way to the server's request threads: it runs at a lower CPU priority
    (Linux schedules threads, so this thread alone). A server also hands the interpreter's lock over more
    often (``serving.runtime.share_interpreter_lock``)."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed: jobs just run as they are
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), JOB_NICENESS)


def _join(q: queue.Queue[Any], timeout: float) -> None:
    import time

    deadline = time.monotonic() + timeout
    while q.unfinished_tasks and time.monotonic() < deadline:
        time.sleep(0.05)
