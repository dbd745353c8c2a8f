"""``shopsense scale evaluate``: the main protocol of ``shopsense evaluate recommend``, run on Spark.

Same split (:func:`~shopsense.scale.split.protocol_split`), same candidates and tie rule, same tuning
(every point of the model's grid in :func:`~shopsense.recommend.evaluation.default_specs` fitted on train,
chosen on validation NDCG@10, first point wins a tie, the choice scored on test), same metrics and the same
:class:`~shopsense.recommend.evaluation.ComparisonResult` (so the same table and JSON keys), for the models
that have a Spark job: most-popular, item-kNN, EASE, ALS. The cold-start and rating protocols are not run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from shopsense.recommend.evaluation import ComparisonResult, ModelResult, default_specs
from shopsense.recommend.protocol import K, metrics_from_ranks, popularity_ranks, summarise
from shopsense.scale.models import SPARK_MODELS, TrainData, fit_als, fit_model, item_counts, train_data
from shopsense.scale.score import rank_cases
from shopsense.scale.split import protocol_split

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from shopsense.scale.load import SparkStore

log = logging.getLogger(__name__)
ProgressFn = Callable[[str], None]


@dataclass
class ProtocolData:
    """The split on Spark: training data, and the validation and test cases (item indices)."""

    train: TrainData
    valid: DataFrame  # user_id, target, excluded (null)
    test: DataFrame   # user_id, target, excluded (the user's validation item)
    info: dict[str, Any]


def protocol_data(store: SparkStore, seed: int = 42) -> ProtocolData:
    """Split ``store`` under the protocol and index it as the single-node evaluation does."""
    from pyspark.sql import functions as F

    spark = store.interactions.sparkSession
    split = protocol_split(store.interactions)
    data = train_data(spark, store.items, split.frame, split.train)
    mapping = spark.createDataFrame([(str(i), n) for n, i in enumerate(data.item_ids)],
                                    "item_id string, item_idx int")
    valid = split.valid.join(F.broadcast(mapping), "item_id").select(
        "user_id", F.col("item_idx").alias("target"), F.lit(None).cast("int").alias("excluded")).cache()
    test = split.test.join(F.broadcast(mapping), "item_id").select("user_id", F.col("item_idx").alias("target")) \
        .join(valid.select("user_id", F.col("target").alias("excluded")), "user_id").cache()
    counts = split.frame.groupBy("part").count().collect()
    sizes = {r["part"]: int(r["count"]) for r in counts}
    if not sizes.get("valid"):
        raise ValueError("no user has 3 or more interactions: nothing to evaluate under leave-last-out")
    n_users = data.rows.select("user_id").distinct().count()
    info = {"n_users": int(n_users), "n_items": int(data.n_items),
            "n_interactions": int(sum(sizes.values())), "n_train": sizes.get("train", 0),
            "n_scored_users": sizes.get("test", 0), "seed": seed}
    return ProtocolData(data, valid, test, info)


def _fit(name: str, pd_: ProtocolData, params: dict[str, Any], cache: dict[str, Any]) -> tuple[Any, Any, float]:
    start = time.perf_counter()
    if name == "als":
        model, factors = fit_als(pd_.train, **params)
    else:
        model, factors = fit_model(name, pd_.train, params, cache), None
    return model, factors, time.perf_counter() - start


def tune_and_test(name: str, grid: Sequence[dict[str, Any]], pd_: ProtocolData, baseline: bool = False,
                  progress: ProgressFn | None = None) -> ModelResult:
    """:func:`shopsense.recommend.evaluation.tune_and_test` with Spark jobs for the fits and the ranking."""
    result = ModelResult(name, baseline=baseline)
    best = None
    cache: dict[str, Any] = {}
    start = time.perf_counter()
    for params in grid:
        try:
            model, factors, fit_s = _fit(name, pd_, dict(params), cache)
            ranks = rank_cases(model, pd_.train, pd_.valid, factors)["rank"].to_numpy()
        except Exception as exc:  # one broken configuration must not sink the whole comparison
            log.warning("%s %s failed: %s", name, params, exc)
            result.grid_scores.append({"params": dict(params), "error": f"{type(exc).__name__}: {exc}"})
            continue
        score = float(metrics_from_ranks(ranks)[f"ndcg@{K}"].mean()) if len(ranks) else float("nan")
        result.grid_scores.append({"params": dict(params), "valid_ndcg@10": score, "fit_time_s": fit_s})
        if progress:
            progress(f"{name} {params}: valid NDCG@10 {score:.4f} ({fit_s:.1f}s on Spark)")
        if best is None or score > result.valid_ndcg:
            best, result.valid_ndcg, result.params, result.fit_time_s = (model, factors), score, dict(params), fit_s
    result.tune_time_s = time.perf_counter() - start
    for frame in cache.values():
        if hasattr(frame, "unpersist"):
            frame.unpersist()
    if best is None:
        result.error = next((g["error"] for g in result.grid_scores if "error" in g), "no configuration to try")
        return result
    ranked = rank_cases(best[0], pd_.train, pd_.test, best[1])
    result.metrics = summarise(metrics_from_ranks(ranked["rank"].to_numpy()))
    recommended = np.concatenate([np.asarray(t, dtype=np.int64) for t in ranked["top"]]) if len(ranked) else \
        np.zeros(0, dtype=np.int64)
    result.metrics[f"coverage@{K}"] = len(np.unique(recommended)) / max(1, pd_.train.n_items)
    pop_rank = popularity_ranks(item_counts(pd_.train).astype(np.float64), np.arange(pd_.train.n_items))
    result.metrics["mean_pop_rank"] = float(pop_rank[recommended].mean()) if len(recommended) else float("nan")
    return result


def compare_on_spark(store: SparkStore, models: Sequence[str] = SPARK_MODELS, *, seed: int = 42,
                     grids: dict[str, list[dict[str, Any]]] | None = None,
                     progress: ProgressFn | None = None) -> ComparisonResult:
    """Every model of ``models`` under the protocol on Spark; ``grids`` overrides a model's tuning grid."""
    unknown = sorted(set(models) - set(SPARK_MODELS))
    if unknown:
        raise ValueError(f"no Spark job for {unknown}; Spark jobs: {', '.join(SPARK_MODELS)}")
    pd_ = protocol_data(store, seed=seed)
    results = []
    for spec in default_specs():
        if spec.name not in models:
            continue
        grid = (grids or {}).get(spec.name, spec.grid)
        if progress:
            progress(f"tuning {spec.name} ({len(grid)} configurations) on Spark")
        results.append(tune_and_test(spec.name, grid, pd_, baseline=spec.baseline, progress=progress))
    pd_.train.rows.unpersist()
    return ComparisonResult(data=pd_.info, models=results)
