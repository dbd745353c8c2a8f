"""A serving workspace prepared once per test session.

The demo store is imported, the serving models built, the quick built-in intent + sentiment models trained
and the review opinion index built.

Shared by tests/api and tests/web (each conftest wraps :func:`prepared_workspace` in a session fixture).
The embedding cache lives in ``.shopsense/test-embedding-cache`` at the repository root (ignored by git),
so only the first run on a machine pays for encoding the catalog and the reviews.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from shopsense.core.identity import SHOPPER, Signer, workspace_secret
from shopsense.core.settings import Settings, get_settings
from shopsense.core.store import import_directory
from shopsense.data import demo_store_path
from shopsense.serving.pipeline import TrainOptions, train_all
from shopsense.serving.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
EMBEDDING_CACHE = REPO / ".shopsense" / "test-embedding-cache"
API_KEY = "test-admin-key"
# The one training pipeline, made cheap: text profiles, no multilingual search vectors (E5-encoding the
# catalog would dominate the suite; the engine has its own tests), quick intent + sentiment heads.
SECOND_STORE_IDENTITY = {"name": "Brick & Byte", "currency": "EUR", "locale": "de_DE"}
TEST_TRAINING = TrainOptions(model="text_profile", multilingual=False, validate=False,
                             nlp_tasks=("intent", "sentiment"), quick_nlp=True, promote=True)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


# The suite drives the API far faster than a shopper would; the limits have their own tests (tests/api/
# test_security.py), which turn them on.
NO_LIMITS = {f"{name}_rate_limit": "off" for name in ("chat", "copy", "search", "recommend", "events")}
NO_LIMITS_ENV = {f"SHOPSENSE_{name.upper()}": "off" for name in NO_LIMITS}


def prepared_workspace(home: Path, store_dir: Path | None = None) -> Settings:
    """Import the bundled demo store (or ``store_dir``) into ``home`` and train + promote the serving models (no
    multilingual search vectors: E5-encoding the catalog would dominate the suite; the engine has its own
    tests)."""
    home.mkdir(parents=True, exist_ok=True)
    EMBEDDING_CACHE.mkdir(parents=True, exist_ok=True)
    settings = get_settings(home)
    settings.ensure_dirs()
    shutil.rmtree(settings.cache_dir)
    os.symlink(EMBEDDING_CACHE, settings.cache_dir, target_is_directory=True)
    with Workspace(settings) as workspace:
        import_directory(store_dir or demo_store_path(), workspace.store)
        workspace.store_changed()
        # The assistant and the review-intelligence pages need the intent and sentiment models; quick mode keeps
        # the suite fast (their full-size quality is measured by the benchmarks, not here). The opinion index
        # is built as `shopsense train` builds it, cached under EMBEDDING_CACHE after the first run.
        train_all(workspace, TEST_TRAINING)
    return settings.model_copy(update=NO_LIMITS)


def small_store_dir(root: Path, n_items: int = 120) -> Path:
    """A second, smaller shop cut from the demo store: its ``n_items`` most reviewed items with their reviews,
    interactions and orders, the demo's FAQ, a ``store.json`` of its own (Brick & Byte, euros, German) and a
    PNG picture of its own for every item (``image_url`` = ``images/<id>.png``, a file beside the tables)."""
    import colorsys
    import json

    import pandas as pd
    from PIL import Image, ImageDraw

    demo = demo_store_path()
    root.mkdir(parents=True, exist_ok=True)
    reviews = pd.read_csv(demo / "reviews.csv", dtype=str, keep_default_na=False)
    kept = set(reviews["item_id"].value_counts().index[:n_items])
    for name in ("items", "reviews", "interactions", "orders"):
        frame = pd.read_csv(demo / f"{name}.csv", dtype=str, keep_default_na=False)
        frame = frame[frame["item_id"].isin(kept)]
        if name == "items":
            frame = frame.assign(currency="EUR", image_url=[f"images/{i}.png" for i in frame["item_id"]])
            for n, (item_id, title) in enumerate(zip(frame["item_id"], frame["title"], strict=True)):
                red, green, blue = colorsys.hsv_to_rgb(n / len(frame), 0.45, 0.9)
                picture = Image.new("RGB", (160, 160), (int(red * 255), int(green * 255), int(blue * 255)))
                ImageDraw.Draw(picture).text((12, 70), title[:22], fill=(30, 30, 30))
                (root / "images").mkdir(exist_ok=True)
                picture.save(root / "images" / f"{item_id}.png")
        frame.to_csv(root / f"{name}.csv", index=False)
    shutil.copy(demo / "faq.csv", root / "faq.csv")
    (root / "store.json").write_text(json.dumps(SECOND_STORE_IDENTITY, ensure_ascii=False))
    return root


def keyed_workspace(tmp_path_factory, name: str) -> Settings:
    """A prepared workspace under a fresh temporary folder, whose admin endpoints take :data:`API_KEY`."""
    settings = prepared_workspace(tmp_path_factory.mktemp(name) / "home")
    return settings.model_copy(update={"api_key": API_KEY, **NO_LIMITS})


def shopper_token(settings: Settings, user_id: str, ttl_seconds: int = 3600) -> str:
    """A shopper token for ``user_id``, minted as a store's backend would, with the workspace's secret."""
    return Signer(workspace_secret(settings.secret, settings.home)).mint(user_id, SHOPPER, ttl_seconds)


def as_shopper(settings: Settings, user_id: str) -> dict[str, str]:
    """Request headers that sign the request in as ``user_id``."""
    return {"Authorization": f"Bearer {shopper_token(settings, user_id)}"}


def copy_workspace(source: Settings, home: Path, private_cache: bool = False) -> Settings:
    """A private copy of a prepared workspace (for tests that change the store or the registry).

    ``private_cache``: copy the shared embedding and opinion cache too, for tests that erase a user (an
    erasure deletes cached opinion indexes, which the other tests' workspaces share)."""
    shutil.copytree(source.home, home, symlinks=True)
    cache = home / "cache"
    if private_cache and cache.is_symlink():
        target = cache.resolve()
        cache.unlink()
        shutil.copytree(target, cache)
    return get_settings(home).model_copy(update=NO_LIMITS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int, env: dict[str, str] | None = None, timeout: float = 180.0,
                 stderr: Path | None = None, args: tuple[str, ...] = ()) -> subprocess.Popen:
    """``shopsense serve --home HOME --port PORT``; returns once /readyz answers 200. The server's log (access
    log included) goes to ``stderr``, by default a file beside the workspace: never to a pipe nobody reads,
    which would block the server once it filled."""
    cmd = [sys.executable, "-c", "from shopsense.cli import main; main()", "serve", "--home", str(home),
           "--port", str(port), *args]
    log_path = stderr or home.parent / f"server-{port}.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=log, stderr=log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server did not become ready in time: {log_path.read_text()[-2000:]}")


def sign_in_as_admin(page, base_url: str, path: str = "/admin") -> None:  # noqa: ANN001 - a Playwright page
    """Open an admin page in the browser the way a store owner does: through the login form."""
    page.goto(f"{base_url}{path}")
    assert "/admin/login" in page.url, page.url
    page.fill("#admin-key", API_KEY)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")
    assert page.url.endswith(path), page.url


def skip_without_chromium() -> None:
    import pytest

    if not CHROMIUM.exists() and not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); `make test` installs it")


@contextmanager
def served(home: Path, demo: bool = False, env: dict[str, str] | None = None) -> Iterator[str]:
    """A real ``shopsense serve`` over ``home`` (admin key :data:`API_KEY`; ``demo``: with the demo shopper
    switcher, as ``shopsense demo`` serves; ``env``: more settings); yields its base URL."""
    port = free_port()
    env = {"SHOPSENSE_API_KEY": API_KEY, **NO_LIMITS_ENV, **({"SHOPSENSE_DEMO": "true"} if demo else {}),
           **(env or {})}
    proc = start_server(home, port, env=env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)


@contextmanager
def chromium_browser() -> Iterator[object]:
    """Debian's headless chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def post_events_then_sigkill(home: Path, port: int, requests: int, env: dict[str, str] | None = None,
                             batch_every: int = 0) -> list[str]:
    """Serve ``home``, post ``requests`` events (every ``batch_every``-th request a batch of 5), SIGKILL the
    server right after the last 2xx (no shutdown, no flush) and return every acknowledged event id."""
    proc = start_server(home, port, env=env)
    acked: list[str] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            for n in range(requests):
                if batch_every and n % batch_every == 0:
                    batch = [{"event_id": uuid.uuid4().hex, "user_id": f"dur-{n}", "type": "click",
                              "item_id": "toy_a"} for _ in range(5)]
                    r = http.post("/v1/events", json={"events": batch})
                    assert r.status_code == 201, r.text
                    acked += r.json()["event_ids"]
                else:
                    eid = uuid.uuid4().hex
                    r = http.post("/v1/events", json={"event_id": eid, "user_id": f"dur-{n}", "type": "view",
                                                      "item_id": "toy_b"})
                    assert r.status_code == 201, r.text
                    acked.append(eid)
            os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    return acked
