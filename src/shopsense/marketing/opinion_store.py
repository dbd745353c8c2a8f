"""The opinion index of a workspace, built once per (store content, sentiment model) and cached on disk.

Building costs tens of seconds on 2 cores (spaCy parse + sentiment of every clause), so the CLI, the API and
the pages share one cached copy under ``<cache_dir>/opinions/<key>/``: ``mentions.parquet`` and
``groups.json``, written to a temporary folder and renamed into place (a reader never sees half a cache).
The key hashes the store's last import hash, the sentiment model's version and :data:`INDEX_VERSION`, so
a new import or a newly promoted sentiment model gives a new index.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
from pathlib import Path

import pandas as pd

from shopsense.core.settings import Settings
from shopsense.core.store import Store
from shopsense.marketing.aspects import AspectMerger, LexiconSentiment, OpinionIndex, build_opinions

log = logging.getLogger(__name__)
INDEX_VERSION = "opinions-1"
_lock = threading.Lock()  # guards the in-memory copy and the builder threads; never held during a build
_build_lock = threading.Lock()
_memory: dict[str, OpinionIndex] = {}
_builders: dict[str, threading.Thread] = {}
_build_errors: dict[str, str] = {}


def sentiment_for(settings: Settings) -> tuple[object, str]:
    """The workspace's production ``sentiment`` task and its name@version, or the lexicon fallback."""
    try:
        from shopsense.nlp.tasks import load_task
        from shopsense.registry import Registry

        task = load_task("sentiment", Registry(settings.artifacts_dir))
        # The weights' hashes, not the version name alone: every fresh workspace's first model is "v0001".
        files = task.card.get("files") or {}
        weights = sorted((k, v.get("sha256", "")) for k, v in files.items() if not k.endswith((".md", ".png")))
        digest = hashlib.sha256(json.dumps(weights).encode()).hexdigest()[:8]
        return task, f"sentiment@{task.version.version}#{digest}"
    except (LookupError, OSError, ValueError, RuntimeError) as exc:
        log.info("no trained sentiment model, scoring aspects with the lexicon: %s", exc)
        return LexiconSentiment(), "lexicon (VADER/SnowNLP; no sentiment model trained)"


def _key(store_hash: str, model_name: str) -> str:
    return hashlib.sha256(f"{INDEX_VERSION}|{store_hash}|{model_name}".encode()).hexdigest()[:16]


def load_opinions(settings: Settings, store: Store | None = None, rebuild: bool = False) -> OpinionIndex:
    """The :class:`OpinionIndex` of the workspace's store (built and cached on first use)."""
    own = store is None
    store = store or Store.from_settings(settings)
    try:
        key, folder, sentiment, model_name = _locate(settings, store)
        if not rebuild and (index := _cached(key, folder, model_name)) is not None:
            return index
        with _build_lock:  # one build at a time; a second caller then finds the first one's result
            if not rebuild and (index := _cached(key, folder, model_name)) is not None:
                return index
            data = store.load()
            merger = AspectMerger(cache_dir=str(settings.cache_dir))
            index = build_opinions(data.reviews, data.items, sentiment, merger, model_name)  # type: ignore[arg-type]
            _write(folder, index)
        with _lock:
            _memory.clear()  # one store per process in practice; keep only the current index
            _memory[key] = index
        return index
    finally:
        if own:
            store.close()


def ready_opinions(settings: Settings, store: Store) -> OpinionIndex | None:
    """The index if it is in memory or cached on disk; otherwise None, and a build is started in a background
    thread (one per key), so a request never waits the minutes a first build takes."""
    key, folder, _, model_name = _locate(settings, store)
    if (index := _cached(key, folder, model_name)) is not None:
        return index
    with _lock:
        builder = _builders.get(key)
        if builder is None or not builder.is_alive():
            builder = threading.Thread(target=_build_in_background, args=(settings, key), daemon=True,
                                       name="opinion-index")
            _builders[key] = builder
            builder.start()
    return None


def build_error(settings: Settings, store: Store) -> str | None:
    """Why the last background build for the store's current key failed, if it did."""
    return _build_errors.get(_locate(settings, store)[0])


def _build_in_background(settings: Settings, key: str) -> None:
    try:
        load_opinions(settings)
        _build_errors.pop(key, None)
    except Exception as exc:  # noqa: BLE001 - reported to the next request instead of dying unseen
        log.exception("building the opinion index failed")
        _build_errors[key] = f"{type(exc).__name__}: {exc}"


def _locate(settings: Settings, store: Store) -> tuple[str, Path, object, str]:
    store_hash = (store.last_import() or {}).get("content_hash") or "empty"
    sentiment, model_name = sentiment_for(settings)
    key = _key(str(store_hash), model_name)
    return key, Path(settings.cache_dir) / "opinions" / key, sentiment, model_name


def _cached(key: str, folder: Path, model_name: str) -> OpinionIndex | None:
    with _lock:
        if key in _memory:
            return _memory[key]
        if not (folder / "mentions.parquet").exists():
            return None
        index = _read(folder, model_name)
        _memory.clear()
        _memory[key] = index
        return index


def _read(folder: Path, model_name: str) -> OpinionIndex:
    mentions = pd.read_parquet(folder / "mentions.parquet")
    groups = json.loads((folder / "groups.json").read_text(encoding="utf-8"))
    return OpinionIndex(mentions, groups, model_name)


def _write(folder: Path, index: OpinionIndex) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    index.mentions.to_parquet(tmp / "mentions.parquet", index=False)
    (tmp / "groups.json").write_text(json.dumps(index.groups, ensure_ascii=False), encoding="utf-8")
    if folder.exists():  # another process built the same key meanwhile: its copy is as good as ours
        shutil.rmtree(tmp, ignore_errors=True)
        return
    os.replace(tmp, folder)
