"""What a running server holds: the loaded production (and candidate) recommender, the search index, the
catalog and review summaries, and the hot reload that swaps them when the registry's aliases move.

:class:`ModelHolder` is created in the app's lifespan (no module-level state). Each request calls
:meth:`ModelHolder.maybe_reload`, which reads the registry's alias file at most once per
``reload_interval_s``; a changed alias starts ONE background load, and the new :class:`ServingState` is
swapped in with a single assignment, so a request sees either the old or the new state, never a mix.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from shopsense.core.records import PUBLIC_ITEM_FIELDS, StoreData
from shopsense.core.settings import Settings
from shopsense.core.store_identity import displayable_url
from shopsense.recommend.base import Recommendation, Recommender, UnknownUser, UnsupportedRequest
from shopsense.recommend.explain import attach_explanations, trending
from shopsense.recommend.filters import Filters
from shopsense.registry import ModelVersion, NotFoundError, Registry, RegistryError
from shopsense.serving.ab import ab_bucket
from shopsense.serving.config import ServingConfig
from shopsense.serving.response_cache import ResponseCache
from shopsense.serving.training import MODEL_DIR, POPULAR_DIR, RECOMMENDER, SEARCH

log = logging.getLogger(__name__)
ITEM_FIELDS = tuple(f for f in PUBLIC_ITEM_FIELDS if f != "item_id")


@dataclass
class ServedModel:
    """One loaded recommender version: the model, its MostPopular companion and the registry card."""

    version: str
    card: dict[str, Any]
    model: Recommender
    popular: Recommender
    # Users erased since this version was trained: served as anonymous visitors until a retrain drops them.
    forgotten: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, mv: ModelVersion) -> ServedModel:
        served = cls(mv.version, mv.card, Recommender.load(mv.path / MODEL_DIR),
                     Recommender.load(mv.path / POPULAR_DIR))
        served.warm_up()
        return served

    def warm_up(self) -> None:
        """One request of each kind, so the first real request does not pay for lazy caches."""
        ds = self.model.dataset_
        if ds.n_users:
            self.recommend(str(ds.user_ids[0]), 3)
        self.recommend(None, 3)
        if ds.n_items:
            self.similar(str(ds.item_ids[0]), 3)

    def recommend(self, user_id: str | None, k: int, filters: Filters | None = None,
                  recent_item_ids: Sequence[str] | None = None, off_trending: frozenset[str] = frozenset(),
                  ) -> tuple[list[Recommendation], str]:
        """Explained recommendations and where they came from: ``personal``, ``recent`` or ``trending``.
        ``off_trending``: items the popular fill leaves out unless ``filters`` name a category (the store's
        audience, store.json's ``home_hidden``)."""
        ds = self.model.dataset_
        if user_id is not None and user_id in self.forgotten:
            user_id = None
        recs: list[Recommendation] = []
        source = "trending"
        try:
            if user_id is not None and user_id in ds.user_index:
                recs, source = self.model.recommend(user_id, k, filters=filters), "personal"
            elif recent_item_ids and len(ds.known_item_indices(recent_item_ids)):
                recs = self.model.recommend_for_profile(recent_item_ids, k=k, filters=filters)
                source = "recent"
        except (UnknownUser, UnsupportedRequest):
            recs = []
        if source != "trending" and recs:
            recs = self._explain(self.model, recs, user_id, recent_item_ids)
        if len(recs) < k:  # cold start, or a personal list cut short by filters: fill with what is popular
            have = {r.item_id for r in recs}
            seen = [str(ds.item_ids[i]) for i in ds.user_items(ds.user_index[user_id])] \
                if user_id is not None and user_id in ds.user_index else list(recent_item_ids or [])
            extra_filters = Filters.of(category=filters.category if filters else None,
                                       min_price=filters.min_price if filters else None,
                                       max_price=filters.max_price if filters else None,
                                       exclude=have | set(seen) | (filters.exclude_item_ids if filters else set())
                                       | (off_trending if not (filters and filters.category) else set()))
            more = self.popular.recommend_any(None, k - len(recs), filters=extra_filters)
            more = [trending(r) for r in self._explain(self.popular, more, None, None)]
            recs = recs + more
        return recs, source

    def similar(self, item_id: str, k: int, filters: Filters | None = None) -> list[Recommendation]:
        """Items like ``item_id``, each explained by what it shares with it. Raises UnknownItem."""
        recs = self.model.similar_items(item_id, k, filters=filters)
        if any(r.explanation is None for r in recs):
            recs = self._explain(self.model, recs, None, [item_id])
        return recs

    def _explain(self, model: Recommender, recs: list[Recommendation], user_id: str | None,
                 recent: Sequence[str] | None) -> list[Recommendation]:
        if all(r.explanation for r in recs):
            return recs
        # The served model's evidence (saved with it) explains the popular fill too: the popular model has
        # none of its own, and building it here would load spaCy's tagger into every server process.
        evidence = getattr(self.model, "evidence_", None)
        return attach_explanations(model, model.dataset_, recs, user_id=user_id, recent_item_ids=recent,
                                   evidence=evidence)


@dataclass
class SearchIndex:
    """The loaded search index and its version."""

    version: str
    engine: Any

    @classmethod
    def load(cls, mv: ModelVersion, cache_dir: Path) -> SearchIndex:
        from shopsense.search import ProductSearch

        engine = ProductSearch.load(mv.path / "index", cache_dir=cache_dir)  # multilingual vectors included
        engine.search("warm up 火车", 1)  # the encoder and the Chinese word list load now, not for a shopper
        return cls(mv.version, engine)


@dataclass
class Catalog:
    """Item rows by id, review summaries and the demo's user list, read from the store."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    reviews: dict[str, pd.DataFrame] = field(default_factory=dict)
    top_users: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    _public: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)  # built once per item
    _summaries: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)  # likewise (8 ms each)

    @classmethod
    def from_data(cls, data: StoreData) -> Catalog:
        items = {}
        for row in data.items.itertuples(index=False):
            price = getattr(row, "price", None)
            items[str(row.item_id)] = {
                "title": str(row.title or ""), "price": None if price is None or pd.isna(price) else float(price),
                "currency": str(row.currency or ""), "category": str(row.category or ""),
                "brand": str(row.brand or ""), "image_url": displayable_url(row.image_url),
                "description": str(row.description or ""),
                "attributes": row.attributes if isinstance(row.attributes, dict) else {}}
        reviews = {str(k): g for k, g in data.reviews.groupby("item_id")} if len(data.reviews) else {}
        inter = data.all_interactions()
        counts = inter.groupby("user_id")["item_id"].nunique().sort_values(ascending=False, kind="stable")
        top = [str(u) for u in counts.index[:12]]
        cats = sorted({c.split(">")[0].strip() for c in data.items["category"].dropna().astype(str) if c.strip()})
        return cls(items, reviews, top, cats)

    def item(self, item_id: str) -> dict[str, Any]:
        """The public fields of an item (blank title for an item the catalog does not list): a fresh dict,
        copied from the one built the first time the item was asked for."""
        public = self._public.get(item_id)
        if public is None:
            row = self.items.get(item_id)
            base = {f: None for f in ITEM_FIELDS}
            base["title"] = ""
            if row:
                base.update({f: row[f] for f in ITEM_FIELDS})
            public = {"item_id": item_id, **base}
            if row:  # an unknown id is not kept: a client could fill the cache with made-up ids
                self._public[item_id] = public
        return dict(public)

    def review_summary(self, item_id: str) -> dict[str, Any]:
        """Count, mean stars, share of 4-5 star reviews and a few excerpts (personal data already masked): a
        fresh copy of the summary built the first time the item was asked for (the reviews it reads live as
        long as this catalog, so an erasure, which rebuilds the catalog, also drops the summaries)."""
        summary = self._summaries.get(item_id)
        if summary is None:
            grp = self.reviews.get(item_id)
            if grp is None or len(grp) == 0:
                return {"count": 0, "average": None, "positive_share": None, "excerpts": []}
            summary = self._summaries[item_id] = _review_summary(grp)
        return {**summary, "excerpts": [dict(e) for e in summary["excerpts"]]}


def _review_summary(grp: pd.DataFrame) -> dict[str, Any]:
    stars = grp["rating"].astype(float)
    order = grp.assign(_len=grp["text"].fillna("").str.len()).sort_values(["rating", "_len"], ascending=False)
    excerpts = [{"rating": int(r.rating), "title": str(r.title or ""), "text": str(r.text or "")[:400]}
                for r in order.head(3).itertuples(index=False)]
    return {"count": int(len(grp)), "average": round(float(stars.mean()), 2),
            "positive_share": round(float((stars >= 4).mean()), 3), "excerpts": excerpts}


@dataclass
class ServingState:
    """Everything one request needs, swapped as a whole on reload."""

    production: ServedModel
    candidate: ServedModel | None
    search: SearchIndex | None
    catalog: Catalog
    ab_share: float
    generation: int = 0
    loaded_at: float = field(default_factory=time.time)
    responses: ResponseCache = field(default_factory=ResponseCache)  # encoded answers of what this serves

    def model_for(self, user_id: str | None) -> tuple[ServedModel, str]:
        """The version serving ``user_id`` and its A/B arm (``production`` or ``candidate``)."""
        if self.candidate is not None and ab_bucket(user_id, self.ab_share) == "candidate":
            return self.candidate, "candidate"
        return self.production, "production"

    @property
    def key(self) -> tuple[str, str | None, str | None, int]:
        return (self.production.version, self.candidate.version if self.candidate else None,
                self.search.version if self.search else None, self.generation)


REQUEST_LOCK_WAIT_S = 0.0005


def share_interpreter_lock() -> None:
    """While a background thread computes (a model reload, a retrain job), a request waits for the
    interpreter's lock until that thread's turn ends: 5 ms by default, several times a request. A server hands
    it over every 0.5 ms instead; with no background work nothing changes."""
    sys.setswitchinterval(min(sys.getswitchinterval(), REQUEST_LOCK_WAIT_S))


def settle_heap(full: bool = False) -> None:
    """Hide every object alive now from the garbage collector (``gc.freeze``). A server's models, catalog and
    caches live until the next load, and a full collection walking them stalls every request for ~100 ms
    (measured: 85-130 ms with the demo store loaded), which was the p99 tail under load.

    ``full`` (at start-up, before any request) collects every generation first; otherwise (a reload or a
    cache built while serving) only the young ones are collected, so the requests in flight do not stall.
    Frozen objects are never unfrozen: what a load replaced is freed by reference counting (fifteen reloads
    of the demo store left no cyclic garbage behind), and a worker forked from a master that froze its
    libraries must not walk (and so copy) the master's pages."""
    gc.collect(2 if full else 1)
    gc.freeze()


class ModelHolder:
    """Loads the served models and keeps them current with the registry (see module docstring)."""

    def __init__(self, settings: Settings, config: ServingConfig | None, *, catalog: Callable[[], Catalog],
                 generation: Callable[[], int]) -> None:
        self.settings = settings
        self.config = config or ServingConfig()
        self.registry = Registry(settings.artifacts_dir)
        self._catalog, self._generation = catalog, generation
        self.state: ServingState | None = None
        self.error: str | None = None
        self._last_check = 0.0
        self.erased: set[str] = set()
        self._loading = threading.Lock()
        self._thread: threading.Thread | None = None
        self.watching = False

    def wanted(self) -> tuple[str | None, str | None, str | None, int]:
        """(production recommender, candidate or None, production search, store generation) as they are now."""
        generation = self._generation()
        try:
            prod = self.registry.production_version(RECOMMENDER)
            latest = self.registry.latest_version(RECOMMENDER)
            search = self.registry.production_version(SEARCH)
        except RegistryError as exc:
            self.error = str(exc)
            return None, None, None, generation
        candidate = latest if self.config.ab_share > 0 and latest and latest != prod else None
        return prod, candidate, search, generation

    def load(self) -> ServingState | None:
        """Load (or reload) what the registry names now; keeps the old state when loading fails."""
        with self._loading:
            prod, candidate, search, generation = self.wanted()
            if prod is None:
                self.error = self.error or (f"no trained recommender in {self.settings.home}; run "
                                            "`shopsense import DIR` then `shopsense train` (or `shopsense demo`)")
                self.state = None
                return None
            old = self.state
            try:
                reuse = {} if old is None else {m.version: m for m in (old.production, old.candidate) if m}
                production = reuse.get(prod) or ServedModel.load(self.registry.get(RECOMMENDER, prod))
                cand = None
                if candidate:
                    cand = reuse.get(candidate) or ServedModel.load(self.registry.get(RECOMMENDER, candidate))
                index = old.search if old and old.search and old.search.version == search else None
                if search and index is None:
                    index = SearchIndex.load(self.registry.get(SEARCH, search), self.settings.cache_dir)
                catalog = self._catalog()
            except (NotFoundError, RegistryError, OSError, ValueError) as exc:
                log.error("loading models failed, still serving the previous ones: %s", exc)
                self.error = f"loading models failed: {exc}"
                return self.state
            for served in (production, cand):
                if served is not None:
                    served.forgotten |= self.erased
            self.state = ServingState(production, cand, index, catalog, self.config.ab_share, generation)
            self.error = None
            if self.watching:
                settle_heap()
            log.info("serving recommender %s (candidate %s), search %s", prod, candidate, search)
            return self.state

    def forget(self, user_id: str) -> None:
        """Serve an erased user as an anonymous visitor from now on, before the retrain without them is in."""
        self.erased.add(user_id)
        state = self.state
        if state is not None:
            for served in (state.production, state.candidate):
                if served is not None:
                    served.forgotten.add(user_id)
            state.responses.clear()  # their personal list may be cached

    def maybe_reload(self) -> None:
        """Cheap and throttled: start a background load when the registry's aliases moved (nothing to do
        while :meth:`watch` checks on its own thread)."""
        if self.watching:
            return
        self._check()

    def _check(self) -> None:
        now = time.monotonic()
        if now - self._last_check < self.config.reload_interval_s:
            return
        self._last_check = now
        current = self.state.key if self.state else None
        if current == self.wanted() or (self._thread is not None and self._thread.is_alive()):
            return
        self._thread = threading.Thread(target=self.load, name="shopsense-reload", daemon=True)
        self._thread.start()

    def watch(self) -> threading.Event:
        """Check the registry every ``reload_interval_s`` on a background thread, so that requests never do
        (the check reads the registry and the store). Set the returned event to stop it."""
        stop = threading.Event()
        self.watching = True

        def loop() -> None:
            while not stop.wait(max(self.config.reload_interval_s, 0.05)):
                try:
                    self._last_check = 0.0
                    self._check()
                    if self._thread is not None:
                        self._thread.join()  # one load at a time; the next check follows it
                except Exception:  # noqa: BLE001 - the watcher must outlive a bad moment of the registry
                    log.exception("checking the registry for a new promotion failed")

        threading.Thread(target=loop, name="shopsense-registry-watch", daemon=True).start()
        return stop

    def wait_reloaded(self, timeout: float = 60.0) -> None:
        """Block until a running background load ends (tests and the CLI use it)."""
        if self._thread is not None:
            self._thread.join(timeout)
