"""``serve --workers N``: one master process loads what every worker would load alike, then forks the workers.

A forked worker shares those pages with the master and the other workers copy-on-write, where uvicorn's own
``--workers`` spawns fresh interpreters that each import and load their own copy (about 150 MB a worker:
the imported modules, jieba's dictionary, spaCy's entity pipeline). The master loads only what is
read-only and fork-safe: modules, dictionaries and model weights held as Python objects. Everything that
holds a thread, a lock or a connection (the workspace, its database engine, ONNX sessions, the model
watcher) is opened by each worker after the fork, in the app's lifespan, as with one worker.

gunicorn supervises the workers (restarts one that dies, stops them gracefully on SIGTERM/SIGINT) and each
runs the app under uvicorn (:class:`PreforkWorker`, after ``uvicorn_worker.UvicornWorker``).
"""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

from uvicorn_worker import UvicornWorker

from shopsense.serving.runtime import settle_heap

log = logging.getLogger(__name__)

# A worker is killed when it has not said it is alive for this long; its lifespan (opening the workspace and
# loading the models) happens before it can, so this must cover the slowest model load, not a request.
WORKER_SILENCE_LIMIT_S = 300
GRACEFUL_STOP_S = 30  # requests in flight finish within this when the server stops


def preload_shared_libraries() -> None:
    """Load, in this (the master) process, what every worker needs and never writes to. The modules are
    imported already: building the app imported the routers, and through them the capabilities."""
    from shopsense.nlp.entities import entity_pipeline
    from shopsense.nlp.lexicon import vader_lexicon
    from shopsense.text.tokenize import get_jieba

    get_jieba()
    vader_lexicon()
    try:
        entity_pipeline()
    except OSError as exc:  # the spaCy model is missing: each worker finds out, and falls back, on its own
        log.warning("spaCy's entity pipeline was not preloaded: %s", exc)
    settle_heap(full=True)  # no collection in a worker touches (and so copies) the pages of what was loaded here


class PreforkWorker(UvicornWorker):  # type: ignore[misc] # gunicorn ships no type hints
    """uvicorn's gunicorn worker, which also stops when the master quits quickly (it got SIGINT or SIGQUIT
    alone, from a process manager rather than a terminal's Ctrl+C): the master then sends SIGQUIT, which
    uvicorn_worker only notes, so the worker served on until the master killed it 30 s later."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's own graceful stop: requests in flight finish


def serve_prefork(app: Any, workers: int, host: str, port: int, access_log: bool = True) -> None:
    """Serve ``app`` (an ASGI app built in this process) from ``workers`` forked processes on one port."""
    from gunicorn.app.base import BaseApplication

    options = {
        "bind": f"{host}:{port}", "workers": workers, "worker_class": f"{__name__}.PreforkWorker",
        "preload_app": True, "timeout": WORKER_SILENCE_LIMIT_S, "graceful_timeout": GRACEFUL_STOP_S,
        "keepalive": 5, "errorlog": "-", "accesslog": "-" if access_log else None, "loglevel": "info",
        "proc_name": "shopsense", "control_socket_disable": True,
    }

    class PreforkServer(BaseApplication):  # type: ignore[misc] # gunicorn ships no type hints
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            preload_shared_libraries()
            return app

    PreforkServer().run()
