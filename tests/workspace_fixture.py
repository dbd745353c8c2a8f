"""A serving workspace prepared once per test session: the demo store imported the serving models and the quick built-in intent + sentiment models trained.

Shared by tests/api and tests/web (each conftest wraps :func:`prepared_workspace` in a session fixture).
The embedding cache lives in ``.shopsense/test-embedding-cache`` at the repository root (ignored by git),
so only the first run on a machine pays for encoding the catalog and the reviews.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from shopsense.core.settings import Settings, get_settings
from shopsense.core.store import Store, import_directory
from shopsense.data import demo_store_path
from shopsense.nlp.builtin.train_all import train_builtin
from shopsense.serving.training import train_recommenders

REPO = Path(__file__).resolve().parents[1]
EMBEDDING_CACHE = REPO / ".shopsense" / "test-embedding-cache"
API_KEY = "test-admin-key"


def prepared_workspace(home: Path) -> Settings:
    """Import the bundled demo store into ``home`` and train + promote the serving models (no multilingual
    search vectors: E5-encoding the catalog would dominate the suite; the engine has its own tests)."""
    home.mkdir(parents=True, exist_ok=True)
    EMBEDDING_CACHE.mkdir(parents=True, exist_ok=True)
    settings = get_settings(home)
    settings.ensure_dirs()
    shutil.rmtree(settings.cache_dir)
    os.symlink(EMBEDDING_CACHE, settings.cache_dir, target_is_directory=True)
    with Store.from_settings(settings) as store:
        import_directory(demo_store_path(), store)
    train_recommenders(settings, model="text_profile", multilingual=False, validate=False, promote=True)
    # The assistant and the review-intelligence pages need the intent and sentiment models; quick mode keeps
    # the suite fast (their full-size quality is measured by the benchmarks, not here).
    train_builtin(settings, tasks=["intent", "sentiment"], quick=True)
    return settings


def copy_workspace(source: Settings, home: Path) -> Settings:
    """A private copy of a prepared workspace (for tests that change the store or the registry)."""
    shutil.copytree(source.home, home, symlinks=True)
    return get_settings(home)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int, env: dict[str, str] | None = None, timeout: float = 180.0,
                 ) -> subprocess.Popen:
    """``shopsense serve --home HOME --port PORT``; returns once /readyz answers 200."""
    cmd = [sys.executable, "-c", "from shopsense.cli import main; main()", "serve", "--home", str(home),
           "--port", str(port)]
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not become ready in time")
