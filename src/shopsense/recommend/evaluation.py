"""One call, one table (after Cornac): tune every model on validation, test it, compare with baselines.

:func:`compare_models` runs the protocols of :mod:`shopsense.recommend.protocol` over a
:class:`~shopsense.core.records.StoreData`:

* main (leave-last-out): per :class:`ModelSpec`, fit each grid point on train, keep the one with the
  best validation NDCG@10 (first in the grid wins a tie), then score the test items with that same
  train-fitted model. Metrics: NDCG@10, Recall@10, MRR@10 (means and standard errors over users),
  coverage@10 (distinct items in the test top-10 lists / catalog size), mean popularity rank of the
  recommended items (1 = most popular in train), fit time of the chosen model;
* cold-start items: models whose class has ``supports_cold_items`` are refitted with their chosen
  parameters on the cold-item train split; the others are reported as unable; a random ranking is the floor;
* rating prediction: :mod:`shopsense.recommend.rating`'s ``GlobalMean``, ``BiasOnly`` and ``RatingModel``
  on a seeded 80/20 split (RMSE with its standard error).

Text and hybrid models join through ``shopsense.recommend.hybrid.model_specs() -> list[ModelSpec]``
(called when that module exists). A spec with ``uses_tuned=True`` is built as
``factory(tuned={name: chosen_params, ...}, **grid_point)``, after every other spec, so a hybrid can
reuse the tuned CF models as candidate generators.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shopsense.core.records import StoreData
from shopsense.recommend.base import Recommender
from shopsense.recommend.dataset import InteractionDataset
from shopsense.recommend.evaluation_side import (
    SimpleRow,
    evaluate_cold_items,
    evaluate_rating,
    index_frame,
    train_dataset,
)
from shopsense.recommend.filters import top_k_rows
from shopsense.recommend.protocol import (
    K,
    leave_last_out,
    metrics_from_ranks,
    popularity_ranks,
    ranks_of_targets,
    summarise,
)
from shopsense.recommend.specs import ModelSpec, param_grid

log = logging.getLogger(__name__)
ProgressFn = Callable[[str], None]


def default_specs() -> list[ModelSpec]:
    """The baseline and collaborative-filtering models with their tuning grids (all tuned; none fixed)."""
    from shopsense.recommend.catalogue import model_class

    return [
        ModelSpec(
            "popular", model_class("popular"), param_grid(half_life_days=[None, 30.0, 180.0, 730.0]), baseline=True
        ),
        ModelSpec(
            "itemknn",
            model_class("itemknn"),
            param_grid(k_neighbors=[20, 100, 400], shrinkage=[0.0, 10.0, 50.0, 200.0], alpha=[0.5, 0.75]),
        ),
        ModelSpec("ease", model_class("ease"), param_grid(lambda_=[10.0, 50.0, 200.0, 500.0, 2000.0])),
        ModelSpec(
            "als",
            model_class("als"),
            # Sparse stores want strong regularisation with a high confidence weight (MI 5-core: alpha 100,
            # regularization 200); dense ones a low alpha (MovieLens: 1). The grid spans both.
            param_grid(
                factors=[64, 128], alpha=[1.0, 5.0, 20.0, 100.0], regularization=[0.1, 5.0, 50.0, 200.0]
            ),
        ),
        ModelSpec(
            "bpr",
            model_class("bpr"),
            param_grid(
                factors=[32, 128],
                learning_rate=[0.01, 0.05],
                regularization=[0.001, 0.01, 0.1],
                iterations=[200],
            ),
        ),
    ]


def all_specs() -> list[ModelSpec]:
    """:func:`default_specs` plus the text/hybrid specs of ``shopsense.recommend.hybrid`` when present."""
    specs = default_specs()
    try:
        hybrid = importlib.import_module("shopsense.recommend.hybrid")
    except ModuleNotFoundError as exc:
        if exc.name != "shopsense.recommend.hybrid":
            raise
        return specs
    return specs + list(hybrid.model_specs())


@dataclass
class ModelResult:
    """One row of the main table."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    valid_ndcg: float = float("nan")
    fit_time_s: float = float("nan")
    tune_time_s: float = 0.0
    grid_scores: list[dict[str, Any]] = field(default_factory=list)
    baseline: bool = False
    supports_cold_items: bool = False
    error: str | None = None


@dataclass
class ComparisonResult:
    """Everything :func:`compare_models` measured; :meth:`to_json` gives the documented JSON."""

    data: dict[str, Any]
    models: list[ModelResult]
    cold: list[SimpleRow] = field(default_factory=list)
    rating: list[SimpleRow] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """``{model: {"ndcg@10", "recall@10", "mrr@10", "coverage@10", ..., "params"}, "_meta": {...}}``."""
        out: dict[str, Any] = {}
        for r in self.models:
            entry: dict[str, Any] = {key: _num(v) for key, v in r.metrics.items()}
            entry.update(
                {
                    "params": r.params,
                    "valid_ndcg@10": _num(r.valid_ndcg),
                    "fit_time_s": _num(r.fit_time_s),
                    "tune_time_s": _num(r.tune_time_s),
                    "n_configs": len(r.grid_scores),
                    "baseline": r.baseline,
                }
            )
            if r.error:
                entry["error"] = r.error
            out[r.name] = entry
        out["_meta"] = {
            "protocol": "leave-last-out; candidates = all items minus train (and validation) items; "
            "ties to the smaller item_id; tuned on validation NDCG@10",
            "data": self.data,
            "cold_start_items": {
                row.name: {**{k: _num(v) for k, v in row.metrics.items()}, "note": row.note}
                for row in self.cold
            },
            "rating": {
                row.name: {
                    **{k: _num(v) for k, v in row.metrics.items()},
                    "note": row.note,
                    "fit_time_s": _num(row.fit_time_s),
                }
                for row in self.rating
            },
        }
        return out


def _num(v: Any) -> Any:
    return None if isinstance(v, float) and not np.isfinite(v) else v


# ---------------------------------------------------------------------- ranking helpers
def _rank_cases(
    model: Recommender,
    ds: InteractionDataset,
    users: np.ndarray,
    targets: np.ndarray,
    extra_excluded: np.ndarray | None,
    want_top: bool,
    batch: int = 256,
) -> tuple[np.ndarray, list[np.ndarray]]:
    ranks = np.zeros(len(users), dtype=np.int64)
    tops: list[np.ndarray] = []
    for start in range(0, len(users), batch):
        b = users[start : start + batch]
        s = np.array(model.score_users(b), dtype=np.float64)
        sub = ds.matrix[b]
        s[np.repeat(np.arange(len(b)), np.diff(sub.indptr)), sub.indices] = np.nan
        if extra_excluded is not None:
            s[np.arange(len(b)), extra_excluded[start : start + batch]] = np.nan
        ranks[start : start + batch] = ranks_of_targets(s, targets[start : start + batch], ds.item_order)
        if want_top:
            tops.extend(top_k_rows(s, K, ds.item_order))
    return ranks, tops


# ---------------------------------------------------------------------- the main protocol
def tune_and_test(
    spec: ModelSpec,
    ds: InteractionDataset,
    valid: pd.DataFrame,
    test: pd.DataFrame,
    tuned: dict[str, dict[str, Any]],
    progress: ProgressFn | None = None,
) -> ModelResult:
    """Fit each grid point on ``ds`` (train), choose on validation NDCG@10, evaluate the choice on test."""
    result = ModelResult(spec.name, baseline=spec.baseline)
    vu, vi = index_frame(ds, valid)
    tu, ti = index_frame(ds, test)
    best: Recommender | None = None
    start = time.perf_counter()
    for params in spec.grid:
        try:
            model = spec.build(dict(params), tuned).fit(ds)
            ranks, _ = _rank_cases(model, ds, vu, vi, None, want_top=False)
        except Exception as exc:  # one broken configuration must not sink the whole comparison
            log.warning("%s %s failed: %s", spec.name, params, exc)
            result.grid_scores.append({"params": dict(params), "error": f"{type(exc).__name__}: {exc}"})
            continue
        score = float(metrics_from_ranks(ranks)[f"ndcg@{K}"].mean()) if len(ranks) else float("nan")
        result.grid_scores.append(
            {"params": dict(params), "valid_ndcg@10": score, "fit_time_s": model.fit_time_}
        )
        if progress:
            progress(f"{spec.name} {params}: valid NDCG@10 {score:.4f} ({model.fit_time_:.1f}s)")
        if best is None or score > result.valid_ndcg:
            best, result.valid_ndcg, result.params = model, score, dict(params)
        else:
            del model
    result.tune_time_s = time.perf_counter() - start
    if best is None:
        result.error = next(
            (g["error"] for g in result.grid_scores if "error" in g), "no configuration to try"
        )
        return result
    result.fit_time_s = float(best.fit_time_)
    result.supports_cold_items = bool(best.supports_cold_items)
    ranks, tops = _rank_cases(best, ds, tu, ti, vi, want_top=True)
    result.metrics = summarise(metrics_from_ranks(ranks))
    recommended = np.concatenate(tops) if tops else np.zeros(0, dtype=np.int64)
    result.metrics[f"coverage@{K}"] = len(np.unique(recommended)) / max(1, ds.n_items)
    pop_rank = popularity_ranks(ds.item_popularity(), ds.item_order)
    result.metrics["mean_pop_rank"] = (
        float(pop_rank[recommended].mean()) if len(recommended) else float("nan")
    )
    return result


def compare_models(
    store: StoreData,
    model_specs: Sequence[ModelSpec] | None = None,
    *,
    seed: int = 42,
    cold_start: bool = True,
    rating: bool = True,
    progress: ProgressFn | None = None,
) -> ComparisonResult:
    """Run every spec (default: :func:`all_specs`) under the protocols and return one comparison."""
    specs = list(all_specs() if model_specs is None else model_specs)
    split = leave_last_out(store.all_interactions())
    if split.valid.empty:
        raise ValueError("no user has 3 or more interactions: nothing to evaluate under leave-last-out")
    ds = train_dataset(store, split.train, split.all_items)
    data = {
        "n_users": int(ds.n_users),
        "n_items": int(ds.n_items),
        "n_interactions": int(len(split.train) + len(split.valid) + len(split.test)),
        "n_train": int(len(split.train)),
        "n_scored_users": int(len(split.test)),
        "seed": seed,
    }
    results: list[ModelResult] = []
    tuned: dict[str, dict[str, Any]] = {}
    for spec in sorted(specs, key=lambda s: s.uses_tuned):  # stable: hybrids last, others in given order
        if progress:
            progress(f"tuning {spec.name} ({len(spec.grid)} configurations)")
        res = tune_and_test(spec, ds, split.valid, split.test, dict(tuned), progress)
        results.append(res)
        if res.error is None:
            tuned[spec.name] = res.params
    comparison = ComparisonResult(data=data, models=results)
    if cold_start:
        comparison.cold = evaluate_cold_items(store, specs, tuned, seed=seed, progress=progress)
    if rating:
        comparison.rating = evaluate_rating(store, seed=seed, progress=progress)
    return comparison
