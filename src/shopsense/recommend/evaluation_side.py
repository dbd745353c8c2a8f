"""The secondary protocols of :func:`~shopsense.recommend.evaluation.compare_models`: cold-start items
and rating prediction, plus the helpers that turn split rows into training datasets.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shopsense.core.records import StoreData
from shopsense.recommend.dataset import InteractionDataset
from shopsense.recommend.protocol import (
    cold_item_split,
    metrics_from_ranks,
    random_expected,
    ranks_of_targets,
    rating_rows,
    rating_split,
    summarise,
)

if TYPE_CHECKING:
    from shopsense.recommend.specs import ModelSpec

ProgressFn = Callable[[str], None]


@dataclass
class SimpleRow:
    """A row of the cold-start or rating table: metrics, or why the model could not be evaluated."""

    name: str
    metrics: dict[str, float] = field(default_factory=dict)
    note: str = ""
    fit_time_s: float = float("nan")


def train_dataset(store: StoreData, rows: pd.DataFrame, all_items: Sequence[str]) -> InteractionDataset:
    """A training dataset from split rows over the full catalog (plus items only seen in interactions)."""
    catalog = store.items
    missing = sorted(set(all_items) - set(catalog["item_id"].astype(str)))
    if missing:
        catalog = pd.concat([catalog, pd.DataFrame({"item_id": missing, "title": ""})], ignore_index=True)
    cols = [c for c in ("user_id", "item_id", "timestamp", "event", "value") if c in rows.columns]
    return InteractionDataset.from_interactions(rows[cols], items=catalog, reviews=store.reviews, store=store)


def index_frame(ds: InteractionDataset, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return (
        frame["user_id"].map(ds.user_index).to_numpy(np.int64),
        frame["item_id"].map(ds.item_index).to_numpy(np.int64),
    )


def evaluate_cold_items(
    store: StoreData,
    specs: Sequence[ModelSpec],
    chosen: dict[str, dict[str, Any]],
    *,
    seed: int = 42,
    progress: ProgressFn | None = None,
) -> list[SimpleRow]:
    """The cold-start-items protocol; CF models are reported as unable, a random ranking is the floor."""
    split = cold_item_split(store.all_interactions(), seed=seed)
    if split.test.empty:
        return [SimpleRow("random", note="no held-out interaction has a user with training data")]
    all_items = sorted(set(split.train["item_id"]) | set(split.cold_items))
    ds = train_dataset(store, split.train, all_items)
    cold_idx = np.asarray([ds.item_index[i] for i in split.cold_items], dtype=np.int64)
    pos_in_cold = {int(c): n for n, c in enumerate(cold_idx)}
    users, targets = index_frame(ds, split.test)
    tcol = np.asarray([pos_in_cold[int(t)] for t in targets], dtype=np.int64)
    # Each case ranks its target among the cold items, minus the user's other cold items.
    others = split.test.groupby("user_id")["item_id"].agg(set).to_dict()
    user_ids = split.test["user_id"].to_numpy()
    n_cand = np.asarray([len(cold_idx) - len(others[u]) + 1 for u in user_ids], dtype=np.int64)
    rows = [SimpleRow("random", summarise(random_expected(n_cand)), note="expected value, random ranking")]
    tuned = {name: p for name, p in chosen.items()}
    for spec in specs:
        if spec.name not in chosen:
            continue
        try:
            model = spec.build(dict(chosen[spec.name]), tuned)
            if not model.supports_cold_items:
                rows.append(SimpleRow(spec.name, note="unable: needs interactions, cold items have none"))
                continue
            model.fit(ds)
            ranks = _cold_ranks(model, ds, users, user_ids, tcol, cold_idx, others, pos_in_cold)
            rows.append(
                SimpleRow(spec.name, summarise(metrics_from_ranks(ranks)), fit_time_s=model.fit_time_)
            )
            if progress:
                progress(f"cold-start {spec.name}: NDCG@10 {rows[-1].metrics['ndcg@10']:.4f}")
        except Exception as exc:
            rows.append(SimpleRow(spec.name, note=f"error: {type(exc).__name__}: {exc}"))
    return rows


def evaluate_rating(
    store: StoreData, *, seed: int = 42, progress: ProgressFn | None = None
) -> list[SimpleRow]:
    """RMSE of the rating models on a seeded 80/20 split of the rating rows."""
    rows = rating_rows(store.all_interactions(), store.reviews)
    if len(rows) < 10:
        return [SimpleRow("rating", note=f"only {len(rows)} rating rows; need at least 10")]
    try:
        rating = importlib.import_module("shopsense.recommend.rating")
    except ModuleNotFoundError:
        return [SimpleRow("rating", note="shopsense.recommend.rating is not available")]
    train, test = rating_split(rows, seed=seed)
    ds = InteractionDataset.from_interactions(
        pd.DataFrame(columns=["user_id", "item_id", "timestamp"]), items=store.items
    )
    items_text = dict(zip(map(str, ds.item_ids), ds.item_text(), strict=True))
    out: list[SimpleRow] = []
    for name in ("GlobalMean", "BiasOnly", "RatingModel"):
        klass = getattr(rating, name, None)
        if klass is None:
            out.append(SimpleRow(name, note="not provided by shopsense.recommend.rating"))
            continue
        try:
            start = time.perf_counter()
            model = klass().fit(train[["user_id", "item_id", "rating", "text"]], items_text)
            fit_time = time.perf_counter() - start
            pred = np.asarray(
                model.predict(test["user_id"].tolist(), test["item_id"].tolist()), dtype=np.float64
            )
            sq = (pred - test["rating"].to_numpy(np.float64)) ** 2
            rmse = float(np.sqrt(sq.mean()))
            se = (
                float(sq.std(ddof=1) / np.sqrt(len(sq)) / (2 * rmse))
                if rmse > 0 and len(sq) > 1
                else float("nan")
            )
            out.append(
                SimpleRow(name, {"rmse": rmse, "rmse_se": se, "n_test": float(len(sq))}, fit_time_s=fit_time)
            )
            if progress:
                progress(f"rating {name}: RMSE {rmse:.4f}")
        except Exception as exc:
            out.append(SimpleRow(name, note=f"error: {type(exc).__name__}: {exc}"))
    return out


def _cold_ranks(model: Any, ds: InteractionDataset, users: np.ndarray, user_ids: np.ndarray, tcol: np.ndarray,
                cold_idx: np.ndarray, others: dict[str, set[str]], pos_in_cold: dict[int, int],
                batch: int = 256) -> np.ndarray:
    """Rank of each case's target among the cold items; each distinct user is scored once, in batches."""
    uniq, inverse = np.unique(users, return_inverse=True)
    ranks = np.zeros(len(users), dtype=np.int64)
    order = ds.item_order[cold_idx]
    for start in range(0, len(uniq), batch):
        block = np.array(model.score_users(uniq[start:start + batch]), dtype=np.float64)[:, cold_idx]
        cases = np.flatnonzero((inverse >= start) & (inverse < start + batch))
        s = block[inverse[cases] - start]
        for r, case in enumerate(cases):
            for other in others[user_ids[case]]:
                col = pos_in_cold[ds.item_index[other]]
                if col != tcol[case]:
                    s[r, col] = np.nan  # the user's other cold items are positives too: not candidates
        ranks[cases] = ranks_of_targets(s, tcol[cases], order)
    return ranks
