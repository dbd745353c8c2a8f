"""Training the serving models from the store, and folding new events into them (``shopsense retrain``).

Two registry models are published: ``recommender`` (the serving recommender plus a MostPopular model for
"trending" and the cold start, with a card holding a quick leave-last-out validation) and ``search`` (the
hybrid product search index, with the multilingual vectors precomputed so a Chinese query never waits
for the catalog to be encoded).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopsense.core.records import INTERACTION_EVENTS, RATING_MAX, RATING_MIN, StoreData
from shopsense.core.settings import Settings
from shopsense.core.store import Store
from shopsense.recommend.base import Recommender
from shopsense.recommend.catalogue import MODEL_NAMES, build_recommender
from shopsense.recommend.dataset import InteractionDataset
from shopsense.recommend.filters import Filters
from shopsense.recommend.popular import MostPopular
from shopsense.registry import ModelVersion, NotFoundError, Registry

log = logging.getLogger(__name__)
RECOMMENDER = "recommender"
SEARCH = "search"
MODEL_DIR, POPULAR_DIR = "model", "popular"
MODEL_CHOICES = ("auto", *MODEL_NAMES)  # "auto": see choose_model
_HYBRID_MIN_USERS = 50  # users with 3+ interactions the hybrid's ranker needs to learn anything
_VALIDATION_USERS = 300
Progress = Callable[[str], None]


@dataclass
class TrainResult:
    """What a training or retraining run published: the versions, whether they were promoted, and why."""

    recommender: ModelVersion | None = None
    search: ModelVersion | None = None
    promoted: list[str] = field(default_factory=list)
    mode: str = "full"
    notes: list[str] = field(default_factory=list)


def events_as_interactions(events: pd.DataFrame) -> pd.DataFrame:
    """API events that say something about an item (view, click, cart, purchase, rating) as interactions."""
    cols = ["user_id", "item_id", "timestamp", "event", "value"]
    if events is None or len(events) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    ev = events[events["type"].isin(INTERACTION_EVENTS) & events["item_id"].notna()]
    ev = ev[(ev["type"] != "rating") | ev["value"].between(RATING_MIN, RATING_MAX)]
    return pd.DataFrame({"user_id": ev["user_id"].astype(str).to_numpy(),
                         "item_id": ev["item_id"].astype(str).to_numpy(),
                         "timestamp": ev["created_at"].to_numpy(), "event": ev["type"].astype(str).to_numpy(),
                         "value": ev["value"].to_numpy(dtype=np.float64)})


def all_interactions(data: StoreData, events: pd.DataFrame) -> pd.DataFrame:
    """The store's interactions (reviews included) plus the interactions the API received."""
    base = data.all_interactions()
    extra = events_as_interactions(events)
    if len(extra) == 0:
        return base
    extra["timestamp"] = pd.to_datetime(extra["timestamp"], utc=True)
    return pd.concat([base, extra], ignore_index=True)


def build_model(name: str, settings: Settings, explain: bool = True) -> Recommender:
    """An unfitted recommender by catalogue name (:data:`shopsense.recommend.catalogue.MODEL_NAMES`), given the
    workspace's cache, seed and encoder."""
    backend = settings.encoder_backend if settings.encoder_backend != "multilingual" else "onnx"
    return build_recommender(name, explain=explain, cache_dir=str(settings.cache_dir), seed=settings.seed,
                             encoder_backend=backend)


def choose_model(interactions: pd.DataFrame, model: str = "auto") -> tuple[str, str]:
    """The model to serve and why: the hybrid when enough users have 3+ interactions, else text_profile."""
    if model != "auto":
        if model not in MODEL_CHOICES:
            raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODEL_CHOICES)}")
        return model, "asked for"
    per_user = interactions.drop_duplicates(["user_id", "item_id"]).groupby("user_id").size()
    rich = int((per_user >= 3).sum())
    if rich >= _HYBRID_MIN_USERS:
        return "hybrid", f"{rich} users have 3+ interactions (>= {_HYBRID_MIN_USERS}): the ranker can learn"
    return "text_profile", (f"only {rich} users have 3+ interactions (< {_HYBRID_MIN_USERS}): content-based "
                            "text profiles serve a sparse store best")


def quick_validation(name: str, settings: Settings, data: StoreData, interactions: pd.DataFrame) -> dict[str, Any]:
    """Leave-last-out hit rate and NDCG@10 of ``name`` and of MostPopular on up to 300 seeded users."""
    from shopsense.recommend.protocol import leave_last_out

    split = leave_last_out(interactions)
    if len(split.test) < 20:
        return {"protocol": "leave-last-out", "status": "skipped",
                "reason": f"only {len(split.test)} users have 3+ interactions (needs 20)"}
    test = split.test
    if len(test) > _VALIDATION_USERS:
        test = test.sample(_VALIDATION_USERS, random_state=settings.seed)
    train_ds = InteractionDataset.from_interactions(split.train, items=data.items, reviews=data.reviews)
    out: dict[str, Any] = {"protocol": "leave-last-out", "users": int(len(test)), "k": 10}
    valid_item = dict(zip(split.valid["user_id"], split.valid["item_id"], strict=True))
    for label, model in ((name, build_model(name, settings, explain=False)), ("popular", MostPopular())):
        model.fit(train_ds)
        hits, gains = [], []
        for user, target in zip(test["user_id"], test["item_id"], strict=True):
            exclude = [valid_item[user]] if user in valid_item else []
            recs = model.recommend_any(user, 10, filters=Filters.of(exclude=exclude))
            ids = [r.item_id for r in recs]
            rank = ids.index(target) if target in ids else None
            hits.append(rank is not None)
            gains.append(0.0 if rank is None else 1.0 / np.log2(rank + 2))
        out[label] = {"hit_rate@10": float(np.mean(hits)), "ndcg@10": float(np.mean(gains))}
    return out


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _events_until(events: pd.DataFrame, previous: str | None = None) -> str | None:
    if events is None or len(events) == 0:
        return previous
    return pd.Timestamp(events["received_at"].max()).isoformat()


def _maybe_promote(registry: Registry, model: str, version: ModelVersion, promote: bool | None,
                   result: TrainResult) -> None:
    if promote or (promote is None and registry.production_version(model) is None):
        registry.promote(model, version.version)
        result.promoted.append(f"{model} {version.version}")


def publish_search(settings: Settings, items: pd.DataFrame, multilingual: bool = True,
                   progress: Progress | None = None) -> ModelVersion:
    """Index the catalog and publish it as a new ``search`` version."""
    from shopsense.search import ProductSearch

    say = progress or (lambda _m: None)
    say(f"indexing {len(items):,} items for search")
    search = ProductSearch(multilingual=multilingual, cache_dir=settings.cache_dir).fit(items)
    if multilingual:  # encoded now, saved with the index: a Chinese query never waits for the catalog
        search.encode_multilingual()

    def build(directory: Path) -> dict[str, Any]:
        search.save(directory / "index")
        return {"kind": "search", "n_items": int(len(items)), "multilingual": multilingual,
                "trained_at": _now(), "dense_backend": search.dense_backend}

    return Registry(settings.artifacts_dir).publish(SEARCH, build)


def publish_recommender(settings: Settings, model: Recommender, popular: MostPopular, card: dict[str, Any],
                         ) -> ModelVersion:
    def build(directory: Path) -> dict[str, Any]:
        model.save(directory / MODEL_DIR)
        popular.save(directory / POPULAR_DIR)
        ds = model.dataset_
        return {**card, "kind": "recommender", "algorithm": model.name, "params": model.get_params(),
                "n_users": int(ds.n_users), "n_items": int(ds.n_items), "n_pairs": int(ds.matrix.nnz),
                "fit_time_s": getattr(model, "fit_time_", None), "trained_at": _now()}

    return Registry(settings.artifacts_dir).publish(RECOMMENDER, build)


def train_recommenders(settings: Settings, model: str = "auto", *, search: bool = True, multilingual: bool = True,
                       validate: bool = True, promote: bool | None = None,
                       progress: Progress | None = None, card_extra: dict[str, Any] | None = None) -> TrainResult:
    """Fit the serving recommender (+ MostPopular) and the search index on the store and its events; publish.

    ``promote=None`` promotes only when the model has no production version yet (the first training).
    """
    say = progress or (lambda _m: None)
    settings.ensure_dirs()
    with Store.from_settings(settings) as store:
        say("loading the store")
        data = store.load()
        events = store.events_since(None)
    if len(data.items) == 0:
        raise ValueError(f"the store in {settings.home} has no items; run `shopsense import DIR` (or "
                         "`shopsense demo`) first")
    interactions = all_interactions(data, events)
    if len(interactions) == 0:
        raise ValueError("the store has no interactions or reviews to learn from")
    name, why = choose_model(interactions, model)
    result = TrainResult(notes=[f"model: {name} ({why})"])
    card: dict[str, Any] = {"mode": "full", "why": why, "events_until": _events_until(events),
                            "n_interactions": int(len(interactions)), "n_events_used": int(len(events)),
                            **(card_extra or {})}
    if validate:
        say(f"validating {name} (leave-last-out)")
        card["metrics"] = quick_validation(name, settings, data, interactions)
    say(f"fitting {name} on {len(interactions):,} interactions")
    ds = InteractionDataset.from_interactions(interactions, items=data.items, reviews=data.reviews, store=data)
    fitted = build_model(name, settings).fit(ds)
    popular = MostPopular().fit(ds)
    registry = Registry(settings.artifacts_dir)
    result.recommender = publish_recommender(settings, fitted, popular, card)
    _maybe_promote(registry, RECOMMENDER, result.recommender, promote, result)
    if search:
        result.search = publish_search(settings, data.items, multilingual, progress)
        _maybe_promote(registry, SEARCH, result.search, promote, result)
    return result


def _search_multilingual(registry: Registry) -> bool:
    """Whether the search index now published has multilingual vectors (a rebuild keeps that choice)."""
    try:
        return bool(registry.get(SEARCH, "latest").card.get("multilingual", True))
    except NotFoundError:
        return True


def retrain(settings: Settings, *, promote: bool | None = False, full: bool = False,
            multilingual: bool | None = None, progress: Progress | None = None) -> TrainResult:
    """Fold the events received since the latest recommender version into it and publish a new version.

    New users and new catalog items are folded in (the model refits from scratch when it cannot fold
    in, when ``full`` is set, or when nothing is published yet). The search index is rebuilt only when
    the catalog gained items. ``promote``: True moves production to the new version; False leaves it as
    the candidate (``latest``) for A/B serving; None promotes when there is no production version.
    """
    say = progress or (lambda _m: None)
    registry = Registry(settings.artifacts_dir)
    if multilingual is None:
        multilingual = _search_multilingual(registry)
    try:
        base = registry.get(RECOMMENDER, "latest")
    except NotFoundError:
        base = None
    if base is None or full:
        return train_recommenders(settings, promote=True if promote is None else promote,
                                  multilingual=multilingual, progress=progress)
    model = Recommender.load(base.path / MODEL_DIR)
    popular = Recommender.load(base.path / POPULAR_DIR)
    since = base.card.get("events_until")
    with Store.from_settings(settings) as store:
        say(f"reading events since {since or 'the beginning'}")
        events = store.events_since(since)
        data = store.load()
    inter = events_as_interactions(events)
    ds = model.dataset_
    new_items = data.items[~data.items["item_id"].astype(str).isin(ds.item_index)]
    unknown = set(inter["item_id"]) - set(ds.item_index) - set(new_items["item_id"].astype(str))
    inter = inter[~inter["item_id"].isin(unknown)]  # events on items the catalog does not list
    new_users = set(inter["user_id"]) - set(ds.user_index)
    if (len(new_items) and not model.supports_fold_in_items) or (len(inter) and not model.supports_fold_in_users):
        refit = getattr(model, "refit_as", model.name)  # a precomputed version refits the model behind it
        say(f"{model.name} cannot fold in; refitting {refit} from scratch")
        return train_recommenders(settings, model=refit, promote=promote, multilingual=multilingual,
                                  progress=progress)
    say(f"folding in {len(inter):,} interactions, {len(new_users):,} new users, {len(new_items):,} new items")
    for m in (model, popular):
        if len(new_items):
            m.fold_in_items(new_items)
        if len(inter):
            inter_ts = inter.assign(timestamp=pd.to_datetime(inter["timestamp"], utc=True))
            m.fold_in_users(inter_ts)
    card = {**{k: v for k, v in base.card.items() if k in ("why", "metrics", "n_interactions", "train_options")},
            "mode": "fold-in", "base_version": base.version, "events_until": _events_until(events, since),
            "events_folded": int(len(inter)), "new_users": len(new_users), "new_items": int(len(new_items))}
    result = TrainResult(mode="fold-in")
    result.recommender = publish_recommender(settings, model, popular, card)
    _maybe_promote(registry, RECOMMENDER, result.recommender, promote, result)
    if len(new_items):
        result.search = publish_search(settings, data.items, multilingual, progress)
        _maybe_promote(registry, SEARCH, result.search, promote, result)
    result.notes.append(f"{len(inter)} interactions folded in ({len(new_users)} new users, "
                        f"{len(new_items)} new items) on top of {base.version}")
    return result
