"""Scoring users on Spark: the fitted model is broadcast, users are scored a block at a time on the executors
by the single-node scoring code (``mapInPandas``), so a Spark score is the single-node score, bit for bit.

* :func:`rank_cases` ranks held-out targets (the evaluation protocol: train items, and in the test phase the
  validation item, are not candidates; ties go to the smaller item id) and returns each case's rank and
  top-10, for :mod:`shopsense.scale.evaluate`;
* :func:`top_k_frame` gives the top-K items of every user (or a subset), for :mod:`shopsense.scale.batch`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopsense.recommend.filters import top_k_rows
from shopsense.recommend.protocol import K, ranks_of_targets

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from shopsense.scale.models import TrainData

BLOCK = 256  # users scored per matrix product (the single-node evaluation's batch)


def histories(data: TrainData) -> DataFrame:
    """``user_id, hist``: each user's train items (``item_idx, weight``) in index order."""
    from pyspark.sql import functions as F

    return data.rows.groupBy("user_id").agg(
        F.sort_array(F.collect_list(F.struct("item_idx", F.col("weight").cast("float").alias("weight"))))
        .alias("hist"))


def _rows(hist: pd.Series, n_items: int) -> sp.csr_matrix:
    lengths = np.fromiter((len(h) for h in hist), dtype=np.int64, count=len(hist))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    flat = [e for h in hist for e in h]
    idx = np.fromiter((e["item_idx"] for e in flat), dtype=np.int32, count=len(flat))
    w = np.fromiter((e["weight"] for e in flat), dtype=np.float32, count=len(flat))
    return sp.csr_matrix((w, idx, indptr), shape=(len(hist), n_items))


def _scores(model: Any, rows: sp.csr_matrix, factors: pd.Series | None) -> np.ndarray:
    if factors is not None:  # ALS from MLlib: each user's own factor row
        return np.stack(factors.to_numpy()).astype(np.float32) @ model.item_factors_.T
    return np.array(model._score_rows(rows), dtype=np.float64)


def _block_scores(model: Any, chunk: pd.DataFrame, n_items: int) -> tuple[np.ndarray, sp.csr_matrix]:
    rows = _rows(chunk["hist"], n_items)
    s = np.array(_scores(model, rows, chunk["features"] if "features" in chunk else None), dtype=np.float64)
    s[np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr)), rows.indices] = np.nan
    return s, rows


def _scored_blocks(batches: Iterator[pd.DataFrame], model: Any, n_items: int,
                   ) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """Each block of :data:`BLOCK` users of a partition with its scores (their train items NaN)."""
    for pdf in batches:
        for start in range(0, len(pdf), BLOCK):
            chunk = pdf.iloc[start:start + BLOCK]
            yield chunk, _block_scores(model, chunk, n_items)[0]


def _with_factors(frame: DataFrame, user_factors: DataFrame | None) -> DataFrame:
    return frame if user_factors is None else frame.join(user_factors, "user_id")


def rank_cases(model: Any, data: TrainData, cases: DataFrame, user_factors: DataFrame | None = None,
               ) -> pd.DataFrame:
    """``cases`` (``user_id, target`` item index, ``excluded`` item index or null) ranked on Spark:
    a pandas frame ``user_id, rank, top`` (top-10 item indices), one row per case."""
    spark = cases.sparkSession
    shared = spark.sparkContext.broadcast(model)
    n_items = data.n_items
    order = np.arange(n_items)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for chunk, s in _scored_blocks(batches, shared.value, n_items):
            excluded = chunk["excluded"].to_numpy()
            has = ~pd.isna(excluded)
            s[np.flatnonzero(has), excluded[has].astype(np.int64)] = np.nan
            targets = chunk["target"].to_numpy(np.int64)
            yield pd.DataFrame({"user_id": chunk["user_id"].to_numpy(),
                                "rank": ranks_of_targets(s, targets, order),
                                "top": [t.tolist() for t in top_k_rows(s, K, order)]})

    joined = _with_factors(cases.join(histories(data), "user_id"), user_factors)
    out = joined.mapInPandas(run, "user_id string, rank long, top array<long>").toPandas()
    shared.unpersist()
    # in user-id order, as the single-node split lists its cases (so the means add up in the same order)
    return out.sort_values("user_id", kind="stable").reset_index(drop=True)


def top_k_frame(model: Any, data: TrainData, k: int = 10, users: DataFrame | None = None,
                user_factors: DataFrame | None = None) -> DataFrame:
    """``user_id, rank, item_idx, score``: each user's top ``k`` unseen items (ties to the smaller id),
    exactly what :meth:`Recommender.recommend` gives the same user; ``users`` (``user_id``) narrows it."""
    spark = data.rows.sparkSession
    shared = spark.sparkContext.broadcast(model)
    n_items = data.n_items
    order = np.arange(n_items)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for chunk, s in _scored_blocks(batches, shared.value, n_items):
            tops = top_k_rows(np.where(np.isnan(s), -np.inf, s), k, order)
            uid, rank, item, score = [], [], [], []
            for u, row, t in zip(chunk["user_id"], s, tops, strict=True):
                t = [i for i in t if np.isfinite(row[i])]
                uid += [u] * len(t)
                rank += list(range(1, len(t) + 1))
                item += [int(i) for i in t]
                score += [float(row[i]) for i in t]
            yield pd.DataFrame({"user_id": uid, "rank": rank, "item_idx": item, "score": score})

    hist = histories(data)
    if users is not None:
        hist = hist.join(users.select("user_id").distinct(), "user_id")
    return _with_factors(hist, user_factors).mapInPandas(
        run, "user_id string, rank int, item_idx int, score double")
