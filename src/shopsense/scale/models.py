"""Training on Spark: most-popular, item-kNN, EASE (Gram matrix on Spark, solve on the driver) and ALS (MLlib).

Each job returns the single-node model class (``shopsense.recommend``) holding the state Spark computed, so
scoring, saving and serving are the single-node code: the Spark result *is* the single-node model, and the
parity tests compare the two state for state. The input is a :class:`TrainData`: the train rows with integer
item indices in id order over the catalog plus every item seen in interactions (as the evaluation's
training dataset has them).

Arithmetic follows the single-node models exactly where it decides rankings: item-kNN similarities are
float32, each operation rounded to float32 as numpy does (a double result rounded to float32 is the float32
result for one +, *, /), with the per-item norm powers computed on the driver by numpy; top-k neighbours per
item keep ties to the smaller index; EASE gets the integer Gram matrix and the same solve
(:func:`~shopsense.recommend.ease.ease_weights`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from shopsense.recommend.dataset import sort_ids
from shopsense.recommend.ease import EASE, ease_weights
from shopsense.recommend.factorization import ALS
from shopsense.recommend.itemknn import ItemKNN
from shopsense.recommend.popular import MostPopular

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from shopsense.recommend.base import Recommender

SPARK_MODELS = ("popular", "itemknn", "ease", "als")
EASE_BYTES_PER_CELL = 12  # float32 Gram matrix, its inverse and one working copy on the driver


@dataclass
class TrainData:
    """Train rows on Spark (``user_id, item_idx, weight, _ts``) and the item ids in index (= id) order."""

    rows: DataFrame
    item_ids: np.ndarray

    @property
    def n_items(self) -> int:
        return len(self.item_ids)


def item_index(spark: Any, catalog: DataFrame, pairs: DataFrame) -> tuple[np.ndarray, DataFrame]:
    """Item ids (catalog plus interactions) in id order, and a Spark frame ``item_id -> item_idx``."""
    from pyspark.sql import functions as F

    ids = catalog.select("item_id").union(pairs.select("item_id")).distinct()
    item_ids = np.asarray(sort_ids(r[0] for r in ids.collect()), dtype=object)
    mapping = spark.createDataFrame([(str(i), n) for n, i in enumerate(item_ids)], "item_id string, item_idx int")
    return item_ids, F.broadcast(mapping)


def train_data(spark: Any, catalog: DataFrame, pairs: DataFrame, train: DataFrame) -> TrainData:
    """:class:`TrainData` of the ``train`` rows, indexed over the catalog and every item of ``pairs``."""
    item_ids, mapping = item_index(spark, catalog, pairs)
    rows = train.join(mapping, "item_id").select("user_id", "item_idx", "weight", "_ts").cache()
    return TrainData(rows, item_ids)


# ---------------------------------------------------------------------------------------------- popular
def fit_popular(data: TrainData, half_life_days: float | None = None) -> MostPopular:
    """Weighted counts per item, each decayed by ``0.5 ** (age_days / half_life_days)`` from the newest row."""
    from pyspark.sql import functions as F

    model = MostPopular(half_life_days=half_life_days)
    if half_life_days is not None and half_life_days <= 0:
        raise ValueError(f"half_life_days must be > 0, got {half_life_days}")
    ref = data.rows.agg(F.max("_ts")).first()[0]
    ref = float(ref) if ref is not None else 0.0
    w = F.col("weight")
    if half_life_days is not None:
        age = F.greatest(F.lit(ref) - F.coalesce(F.col("_ts"), F.lit(ref)), F.lit(0.0)) / 86_400.0
        w = w * F.pow(F.lit(0.5), age / float(half_life_days))
    sums = data.rows.groupBy("item_idx").agg(F.sum(w).alias("s")).collect()
    scores = np.zeros(data.n_items, dtype=np.float64)
    for r in sums:
        scores[r["item_idx"]] = r["s"]
    model._set_state({"item_scores": scores, "reference_time": np.asarray(ref)})
    return model


# ---------------------------------------------------------------------------------------------- co-occurrence
def cooccurrence(data: TrainData, diagonal: bool = False) -> DataFrame:
    """``(i, j, c)``: how many users have both items ``i`` and ``j`` (binary), over the train rows."""
    from pyspark.sql import functions as F

    pairs = data.rows.select("user_id", "item_idx").distinct()
    a = pairs.withColumnRenamed("item_idx", "i")
    b = pairs.withColumnRenamed("item_idx", "j")
    joined = a.join(b, "user_id")
    if not diagonal:
        joined = joined.filter(F.col("i") != F.col("j"))
    return joined.groupBy("i", "j").agg(F.count(F.lit(1)).cast("double").alias("c"))


def item_counts(data: TrainData) -> np.ndarray:
    """(n_items,) float32 number of users per item."""
    counts = np.zeros(data.n_items, dtype=np.float32)
    for r in data.rows.groupBy("item_idx").count().collect():
        counts[r["item_idx"]] = r["count"]
    return counts


# ---------------------------------------------------------------------------------------------- item-kNN
def fit_itemknn(data: TrainData, k_neighbors: int = 100, shrinkage: float = 10.0, alpha: float = 0.5,
                co: DataFrame | None = None, counts: np.ndarray | None = None) -> ItemKNN:
    """:class:`ItemKNN` (binary input) with similarities and top-k pruning computed on Spark.

    ``co`` / ``counts`` (from :func:`cooccurrence` / :func:`item_counts`) can be reused across a grid."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    model = ItemKNN(k_neighbors=k_neighbors, shrinkage=shrinkage, alpha=alpha)
    if k_neighbors < 1 or shrinkage < 0 or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"ItemKNN: need k_neighbors >= 1, shrinkage >= 0, 0 <= alpha <= 1; got "
                         f"{k_neighbors}, {shrinkage}, {alpha}")
    co = cooccurrence(data) if co is None else co
    norms2 = item_counts(data) if counts is None else counts
    left = np.power(norms2, np.float32(alpha))           # |x_i|^(2 alpha), i = neighbour (numpy, as single-node)
    right = np.power(norms2, np.float32(1.0 - alpha))    # |x_j|^(2 (1 - alpha)), j = target
    spark = co.sparkSession
    powers = spark.createDataFrame([(n, float(left[n]), float(right[n])) for n in range(data.n_items)],
                                   "idx int, l float, r float")
    shrink = float(np.float32(shrinkage + 1e-12))

    def f32(col: Any) -> Any:
        return col.cast("float").cast("double")

    sims = (co.join(F.broadcast(powers.select(F.col("idx").alias("i"), "l")), "i")
            .join(F.broadcast(powers.select(F.col("idx").alias("j"), "r")), "j")
            .withColumn("den", f32(f32(f32(F.col("r")) * f32(F.col("l"))) + F.lit(shrink)))
            .withColumn("s", f32(F.col("c") / F.col("den"))).filter(F.col("s") > 0))
    w = Window.partitionBy("j").orderBy(F.col("s").desc(), F.col("i"))
    top = sims.withColumn("_n", F.row_number().over(w)).filter(F.col("_n") <= min(k_neighbors, data.n_items))
    rows = top.select("i", "j", "s").toPandas()
    n = data.n_items
    sim = sp.csr_matrix((rows["s"].to_numpy(np.float32), (rows["i"].to_numpy(), rows["j"].to_numpy())),
                        shape=(n, n), dtype=np.float32)
    sim.sum_duplicates()
    sim.sort_indices()
    model._set_state({"similarity": sim})
    return model


# ---------------------------------------------------------------------------------------------- EASE
def driver_memory_bytes() -> int:
    """Memory the driver can still use (``MemAvailable``; ``SHOPSENSE_DRIVER_MEMORY_GB`` overrides)."""
    if os.environ.get("SHOPSENSE_DRIVER_MEMORY_GB"):
        return int(float(os.environ["SHOPSENSE_DRIVER_MEMORY_GB"]) * 2**30)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def ease_gram(data: TrainData, co: DataFrame | None = None, max_bytes: int | None = None,
              ) -> tuple[np.ndarray, np.ndarray]:
    """(active item indices, their float32 Gram matrix ``X^T X``) accumulated on Spark, refused (with the
    estimate) when the driver could not hold the solve."""
    counts = item_counts(data)
    active = np.flatnonzero(counts > 0)
    need = EASE_BYTES_PER_CELL * len(active) ** 2
    budget = driver_memory_bytes() if max_bytes is None else max_bytes
    if need > budget:
        raise MemoryError(f"EASE on {len(active):,} items needs about {need / 2**30:.1f} GiB on the driver "
                          f"(a dense {len(active):,} x {len(active):,} float32 solve) but "
                          f"{budget / 2**30:.1f} GiB is available; use item-kNN or ALS, or give the driver "
                          "more memory")
    co = cooccurrence(data, diagonal=True) if co is None else co
    position = np.full(data.n_items, -1, dtype=np.int64)
    position[active] = np.arange(len(active))
    cells = co.toPandas()
    gram = np.zeros((len(active), len(active)), dtype=np.float32)
    gram[position[cells["i"].to_numpy()], position[cells["j"].to_numpy()]] = cells["c"].to_numpy(np.float32)
    return active, gram


def fit_ease(data: TrainData, lambda_: float = 100.0, gram: tuple[np.ndarray, np.ndarray] | None = None) -> EASE:
    """:class:`EASE` from the Spark Gram matrix (``gram`` from :func:`ease_gram` can be reused)."""
    if lambda_ <= 0:
        raise ValueError(f"EASE: lambda_ must be > 0, got {lambda_}")
    active, g = ease_gram(data) if gram is None else gram
    model = EASE(lambda_=lambda_)
    model._set_state({"active": active, "weights": ease_weights(g.copy(), lambda_)})
    return model


# ---------------------------------------------------------------------------------------------- ALS
def fit_als(data: TrainData, factors: int = 64, regularization: float = 0.05, alpha: float = 10.0,
            iterations: int = 15, random_state: int = 42) -> tuple[ALS, DataFrame]:
    """:class:`ALS` from Spark MLlib's implicit-preference ALS (``coldStartStrategy="drop"``).

    Returns the model (item factors in item-index order; users are scored from their own factor rows) and
    the ``user_id -> user factors`` frame. ``regularization`` means what it means to implicit (a plain ridge);
    MLlib scales its ``regParam`` by each user's / item's count (ALS-WR), so it gets ``regularization`` divided
    by the mean number of train items per user (passing it unchanged over-regularises active users: on the
    Musical Instruments store NDCG@10 falls from 0.043 to 0.002 at regularization 50). The two agree in
    ranking quality, not in factors (the parity test compares NDCG@10)."""
    from pyspark.ml.feature import StringIndexer
    from pyspark.ml.recommendation import ALS as SparkALS
    from pyspark.sql import functions as F

    indexed = StringIndexer(inputCol="user_id", outputCol="u", stringOrderType="alphabetAsc") \
        .fit(data.rows).transform(data.rows).withColumn("u", F.col("u").cast("int"))
    per_user = data.rows.count() / max(1, data.rows.select("user_id").distinct().count())
    als = SparkALS(rank=factors, maxIter=iterations, regParam=regularization / max(per_user, 1.0), alpha=alpha,
                   implicitPrefs=True, numUserBlocks=2, numItemBlocks=2,
                   userCol="u", itemCol="item_idx", ratingCol="weight", coldStartStrategy="drop",
                   seed=random_state, nonnegative=False)
    fitted = als.fit(indexed)
    item_f = np.zeros((data.n_items, factors), dtype=np.float32)
    for r in fitted.itemFactors.collect():
        item_f[r["id"]] = r["features"]
    users = indexed.select("user_id", "u").distinct()
    user_f = users.join(fitted.userFactors.withColumnRenamed("id", "u"), "u").select("user_id", "features")
    model = ALS(factors=factors, regularization=regularization, alpha=alpha, iterations=iterations,
                random_state=random_state)
    model.item_factors_ = item_f
    return model, user_f


def fit_model(name: str, data: TrainData, params: dict[str, Any], cache: dict[str, Any] | None = None,
              ) -> Recommender:
    """One Spark job by model name; ``cache`` keeps the co-occurrence / Gram inputs across a grid."""
    cache = {} if cache is None else cache
    if name == "popular":
        return fit_popular(data, **params)
    if name == "itemknn":
        if "co" not in cache:
            cache["co"] = cooccurrence(data).cache()
            cache["counts"] = item_counts(data)
        return fit_itemknn(data, co=cache["co"], counts=cache["counts"], **params)
    if name == "ease":
        if "gram" not in cache:
            cache["gram"] = ease_gram(data)
        return fit_ease(data, gram=cache["gram"], **params)
    raise ValueError(f"no Spark job for model {name!r}; Spark jobs: {', '.join(SPARK_MODELS)}")
