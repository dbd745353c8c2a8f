"""The opinion index of a workspace, built once per (store content, store generation, sentiment model) and
cached on disk.

Building costs tens of seconds on 2 cores (spaCy parse + sentiment of every clause), so the CLI, the API and
the pages share one cached copy under ``<cache_dir>/opinions/<key>/``: ``mentions.parquet`` and
``groups.json``, written to a temporary folder and renamed into place (a reader never sees half a cache).
The key hashes the store's last import hash and generation (an erasure, or a new ``store.json`` with other
``insights_stop_terms``, moves the generation on), the sentiment model's weights and :data:`INDEX_VERSION`,
so nothing serves opinions older than the store.

:class:`OpinionIndexes` holds the in-memory copy and the background builder of ONE workspace (the
``Workspace`` owns it); there is no module-level state.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
from pathlib import Path

import pandas as pd

from shopsense.core.settings import Settings
from shopsense.core.store import Store
from shopsense.marketing.aspects import AspectMerger, LexiconSentiment, OpinionIndex, build_opinions

log = logging.getLogger(__name__)
INDEX_VERSION = "opinions-3"  # 3: clause rules, stop list (brands, generic nouns, store.json)
OPINIONS_DIR = "opinions"


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


def _key(store_hash: str, generation: int, model_name: str) -> str:
    return hashlib.sha256(f"{INDEX_VERSION}|{store_hash}|{generation}|{model_name}".encode()).hexdigest()[:16]


def remove_cached_indexes(cache_dir: Path) -> int:
    """Delete every opinion index cached on disk (an erasure does this: they quote reviews); how many."""
    root = Path(cache_dir) / OPINIONS_DIR
    if not root.is_dir():
        return 0
    removed = 0
    for folder in root.iterdir():
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed


class OpinionIndexes:
    """The opinion index of one workspace's store: in memory once loaded, on disk once built."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings, self.store = settings, store
        self._lock = threading.Lock()  # guards the fields below; never held during a build
        self._build_lock = threading.Lock()  # one build at a time
        self._memory: tuple[str, OpinionIndex] | None = None
        self._builder: tuple[str, threading.Thread] | None = None
        self._errors: dict[str, str] = {}

    def _locate(self) -> tuple[str, Path, object, str]:
        store_hash = (self.store.last_import() or {}).get("content_hash") or "empty"
        sentiment, model_name = sentiment_for(self.settings)
        key = _key(str(store_hash), self.store.generation(), model_name)
        return key, Path(self.settings.cache_dir) / OPINIONS_DIR / key, sentiment, model_name

    def load(self, rebuild: bool = False) -> OpinionIndex:
        """The index of the store as it is now (built and cached on first use; waits for the build)."""
        key, folder, sentiment, model_name = self._locate()
        if not rebuild and (index := self._cached(key, folder, model_name)) is not None:
            return index
        with self._build_lock:  # a second caller then finds the first one's result
            if not rebuild and (index := self._cached(key, folder, model_name)) is not None:
                return index
            data = self.store.load()
            merger = AspectMerger(cache_dir=str(self.settings.cache_dir))
            stop_terms = self.store.identity().get("insights_stop_terms") or ()
            index = build_opinions(data.reviews, data.items, sentiment, merger, model_name,  # type: ignore[arg-type]
                                   stop_terms=stop_terms)
            _write(folder, index)
        with self._lock:
            self._memory = (key, index)
        return index

    def ready(self, start_build: bool = False) -> OpinionIndex | None:
        """The index if it is in memory or on disk; otherwise None, and with ``start_build`` ONE background
        build starts (an admin's action: a request never waits the minutes a first build takes, and an
        anonymous one never starts it)."""
        key, folder, _, model_name = self._locate()
        if (index := self._cached(key, folder, model_name)) is not None:
            return index
        if not start_build:
            return None
        with self._lock:
            if self._builder is None or self._builder[0] != key or not self._builder[1].is_alive():
                thread = threading.Thread(target=self._build_in_background, args=(key,), daemon=True,
                                          name="opinion-index")
                self._builder = (key, thread)
                thread.start()
        return None

    def built(self) -> bool:
        """Whether the index of the store as it is now exists (in memory or on disk)."""
        key, folder, _, _ = self._locate()
        with self._lock:
            if self._memory is not None and self._memory[0] == key:
                return True
        return (folder / "mentions.parquet").exists()

    def building(self) -> bool:
        """Whether a background build of the store's current index is running."""
        key = self._locate()[0]
        with self._lock:
            return self._builder is not None and self._builder[0] == key and self._builder[1].is_alive()

    def build_error(self) -> str | None:
        """Why the last background build for the store's current key failed, if it did."""
        return self._errors.get(self._locate()[0])

    def forget(self) -> None:
        """Drop the in-memory copy (an erasure: the next use rebuilds from the store)."""
        with self._lock:
            self._memory = None

    def _build_in_background(self, key: str) -> None:
        try:
            self.load()
            self._errors.pop(key, None)
        except Exception as exc:  # noqa: BLE001 - reported to the next request instead of dying unseen
            log.exception("building the opinion index failed")
            self._errors[key] = f"{type(exc).__name__}: {exc}"

    def _cached(self, key: str, folder: Path, model_name: str) -> OpinionIndex | None:
        with self._lock:
            if self._memory is not None and self._memory[0] == key:
                return self._memory[1]
        if not (folder / "mentions.parquet").exists():
            return None
        index = _read(folder, model_name)
        with self._lock:
            self._memory = (key, index)
        return index


def load_opinions(settings: Settings, store: Store | None = None, rebuild: bool = False) -> OpinionIndex:
    """The :class:`OpinionIndex` of the workspace's store, for one-off callers (CLI, scripts, benchmarks)."""
    own = store is None
    store = store or Store.from_settings(settings)
    try:
        return OpinionIndexes(settings, store).load(rebuild=rebuild)
    finally:
        if own:
            store.close()


def _read(folder: Path, model_name: str) -> OpinionIndex:
    mentions = pd.read_parquet(folder / "mentions.parquet")
    groups = json.loads((folder / "groups.json").read_text(encoding="utf-8"))
    return OpinionIndex(mentions, groups, model_name)


def _write(folder: Path, index: OpinionIndex) -> None:
    from shopsense.core.atomic import atomic_directory

    if folder.exists():  # another process built the same key meanwhile: its copy is as good as ours
        return
    with atomic_directory(folder) as tmp:
        index.mentions.to_parquet(tmp / "mentions.parquet", index=False)
        (tmp / "groups.json").write_text(json.dumps(index.groups, ensure_ascii=False), encoding="utf-8")
