"""The composition root: ONE :class:`Workspace` per process owns the store, the registry, the loaded models
and every cache derived from them.

The API builds one in its lifespan, each CLI command at its start, the tests in their fixtures. Routers and
commands ask it for what they need; capabilities receive narrow pieces of it (the assistant gets a
``shop()`` view of catalog + search + recommender, the orders and the FAQ, never the workspace itself).

Every cache here is keyed on the store's *generation* (which import and erasure both move on) or on the
registry version it was loaded from, so nothing serves data older than the store or the registry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from shopsense.core.identity import Signer, workspace_secret
from shopsense.core.records import StoreData
from shopsense.core.settings import Settings
from shopsense.core.store import Store
from shopsense.core.store_identity import StoreIdentity, identity_of
from shopsense.marketing.opinion_store import OpinionIndexes
from shopsense.registry import Registry
from shopsense.serving.config import ServingConfig
from shopsense.serving.event_writer import EventWriter
from shopsense.serving.jobs import Jobs
from shopsense.serving.runtime import Catalog, ModelHolder, ServingState, settle_heap

T = TypeVar("T")
_GENERATION_TTL_S = 1.0  # another process's import or erasure is seen within a second


class WorkspaceMissing(LookupError):
    """A read-only command was pointed at a directory that holds no workspace."""


class Workspace:
    """Store + generation, registry, loaded models and their caches, for one process (see module docstring)."""

    def __init__(self, settings: Settings, config: ServingConfig | None = None) -> None:
        self.settings = settings
        self.config = config or ServingConfig()
        settings.ensure_dirs()
        self.store = Store.from_settings(settings)
        self.store.create_schema()
        self.registry = Registry(settings.artifacts_dir)
        self.jobs = Jobs(settings.home / "jobs")
        self.opinions = OpinionIndexes(settings, self.store)
        self.models = ModelHolder(settings, self.config, catalog=self.catalog, generation=self.generation)
        self.signer = Signer(workspace_secret(settings.secret, settings.home))
        self.events = EventWriter(self.store)  # group commit for the API's event posts
        self._lock = threading.RLock()
        self._caches: dict[str, tuple[Any, Any]] = {}
        self._generation: tuple[float, int] | None = None

    @classmethod
    def open(cls, settings: Settings, config: ServingConfig | None = None) -> Workspace:
        """The workspace at ``settings.home``; raises :class:`WorkspaceMissing` when there is none (a read-only
        command must not create one as a side effect)."""
        if not exists(settings):
            raise WorkspaceMissing(f"no workspace at {settings.home}: run `shopsense import DIR --home "
                                   f"{settings.home}` then `shopsense train --home {settings.home}` "
                                   "(or `shopsense demo`)")
        return cls(settings, config)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the store and its generation -------------------------------------------------------------------

    def generation(self) -> int:
        """The store's generation, read at most once a second (:meth:`store_changed` refreshes it at once)."""
        now = time.monotonic()
        cached = self._generation
        if cached is None or now - cached[0] > _GENERATION_TTL_S:
            cached = (now, self.store.generation())
            self._generation = cached
        return cached[1]

    def store_changed(self) -> None:
        """Called after this process imported into or erased from the store: every cache rebuilds."""
        self._generation = None
        with self._lock:
            self._caches.clear()
        self.opinions.forget()

    def cached(self, name: str, key: Any, build: Callable[[], T]) -> T:
        """``build()`` once per ``key`` (a generation, a model version), kept under ``name``."""
        with self._lock:
            hit = self._caches.get(name)
            if hit is not None and hit[0] == key:
                return hit[1]
        value = build()
        with self._lock:
            self._caches[name] = (key, value)
        if self.models.watching:  # a server: what was just built lives long, keep it out of the collector's walk
            settle_heap()
        return value

    def data(self) -> StoreData:
        """The store's tables as they are now."""
        return self.cached("data", self.generation(), self.store.load)

    def catalog(self) -> Catalog:
        """Item rows, review summaries and categories of the store as it is now."""
        return self.cached("catalog", self.generation(), lambda: Catalog.from_data(self.data()))

    def identity(self) -> StoreIdentity:
        """The store's name, logo, currency and locale (its imported store.json, then SHOPSENSE_STORE_*)."""
        return self.cached("identity", self.generation(), lambda: identity_of(self.store.identity(), self.settings))

    # -- models -----------------------------------------------------------------------------------------

    def served(self) -> ServingState | None:
        """The loaded recommender + search + catalog (checking, throttled, for a newer promotion first)."""
        if self.models.state is None:
            self.models.load()  # first use in this process (a CLI command): load now, not in the background
        else:
            self.models.maybe_reload()
        return self.models.state

    def nlp_task(self, name: str) -> Any | None:
        """The production version of a trained NLP task (``sentiment``, ``intent``, ``category``), or None."""
        from shopsense.nlp.tasks import load_task

        version = self.registry.production_version(name)
        if version is None:
            return None

        def load() -> Any | None:
            try:
                return load_task(name, self.registry, version)
            except (LookupError, OSError, ValueError, RuntimeError):
                return None

        return self.cached(f"nlp:{name}", version, load)

    def entities(self) -> Any:
        """The entity extractor, with the store's brands and product names."""
        from shopsense.nlp.entities import EntityExtractor

        return self.cached("entities", self.generation(), lambda: EntityExtractor.from_store(self.data()))

    def auditor(self, index: Any) -> Any:
        """The description auditor fitted on the store's items and the given opinion index."""
        from shopsense.marketing.audit import DescriptionAuditor

        return self.cached("auditor", (self.generation(), id(index)), lambda: DescriptionAuditor(
            cache_dir=str(self.settings.cache_dir)).fit(self.data().items, index))

    def generator(self) -> Any:
        """The configured reply/copy writer (template, local GGUF or OpenAI-compatible)."""
        from shopsense.text.generator import generator_from_settings

        return self.cached("generator", self.settings.generator, lambda: generator_from_settings(self.settings))

    def sessions(self) -> Any:
        """The chat sessions and hand-over tickets (their tables are checked once per process, not per use)."""
        from shopsense.assistant.sessions import SessionStore

        return self.cached("sessions", None, lambda: SessionStore(self.store.engine))

    def assistant(self) -> Any:
        """The shopping assistant, built once per store generation; raises AssistantError until trained."""
        from shopsense.assistant.assistant import Assistant

        def build() -> Any:
            return Assistant.build(self.settings, shop=self.served, data=self.data(), engine=self.store.engine,
                                   intent=self.nlp_task("intent"), sentiment=self.nlp_task("sentiment"),
                                   entities=self.entities(), generator=self.generator())

        return self.cached("assistant", (self.generation(), self.registry.production_version("intent")), build)


def exists(settings: Settings) -> bool:
    """Whether ``settings.home`` holds a workspace (a store or a registry), without creating anything."""
    home = Path(settings.home)
    if settings.database_url:
        return True
    return (home / "store.db").exists() or (home / "artifacts").is_dir()
