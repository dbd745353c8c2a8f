"""``shopsense scale train`` / ``score``: fit a serving recommender on Spark, and score every user in batch.

:func:`fit_for_serving` fits on every positive interaction (one row per user-item pair, its largest weight,
as the serving dataset keeps it) and returns the single-node model with its training dataset attached, so the
CLI publishes it into the normal registry and ``shopsense serve`` loads it like any other version. The
dataset is built on the driver: the server needs it anyway (ids, each user's history); the heavy part of the
fit (co-occurrence, Gram matrix, MLlib's ALS) ran on the executors.

:func:`write_top_k` writes each user's top-K (``user_id, rank, item_id, score``) as parquet, partitioned by
Spark, from a published or freshly fitted model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shopsense.recommend.dataset import DEFAULT_EVENT_WEIGHTS, InteractionDataset
from shopsense.recommend.factorization import ALS
from shopsense.scale.models import TrainData, fit_als, fit_model, train_data
from shopsense.scale.score import top_k_frame

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from shopsense.recommend.base import Recommender
    from shopsense.scale.load import SparkStore

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {  # bench_recommend_scale.py's settings for a large store
    "popular": {"half_life_days": 30.0}, "itemknn": {"k_neighbors": 100, "shrinkage": 10.0},
    "ease": {"lambda_": 200.0}, "als": {"factors": 64, "alpha": 5.0, "regularization": 0.05},
}


def serving_rows(store: SparkStore) -> DataFrame:
    """One row per user-item pair of the positive events: its largest weight and latest time."""
    from pyspark.sql import functions as F

    w = F.create_map(*[x for k, v in DEFAULT_EVENT_WEIGHTS.items() for x in (F.lit(k), F.lit(v))])
    return (store.interactions.withColumn("weight", w[F.col("event")].cast("double")).filter(F.col("weight") > 0)
            .groupBy("user_id", "item_id").agg(F.max("weight").alias("weight"), F.max("_ts").alias("_ts")))


def fit_for_serving(store: SparkStore, name: str, params: dict[str, Any] | None = None,
                    ) -> tuple[Recommender, TrainData]:
    """The model fitted on Spark over all of ``store``, with its :class:`InteractionDataset` attached."""
    spark = store.interactions.sparkSession
    rows = serving_rows(store)
    data = train_data(spark, store.items, rows, rows)
    params = dict(DEFAULT_PARAMS.get(name, {}) if params is None else params)
    factors = None
    if name == "als":
        model, factors = fit_als(data, **params)
    else:
        model = fit_model(name, data, params)
    events = store.interactions.select("user_id", "item_id", "_ts", "event", "value").toPandas()
    events["timestamp"] = pd.to_datetime(events.pop("_ts"), unit="s", utc=True)
    items = store.items.toPandas()
    ds = InteractionDataset.from_interactions(events, items=items)
    if list(ds.item_ids) != list(data.item_ids):
        raise RuntimeError("the Spark item index and the serving dataset disagree; report this as a bug")
    if factors is not None:
        found = factors.toPandas()
        user_f = np.zeros((ds.n_users, model.item_factors_.shape[1]), dtype=np.float32)
        index = found["user_id"].map(ds.user_index)
        user_f[index.to_numpy(np.int64)] = np.stack(found["features"].to_numpy())
        model.user_factors_ = user_f
    model.dataset_ = ds
    model.fit_time_ = float("nan")
    return model, data


def write_top_k(model: Recommender, data: TrainData, out: str | Path, k: int = 10,
                users: DataFrame | None = None) -> int:
    """Each user's top ``k`` as parquet under ``out`` (``user_id, rank, item_id, score``); rows written."""
    from pyspark.sql import functions as F

    spark = data.rows.sparkSession
    mapping = spark.createDataFrame([(n, str(i)) for n, i in enumerate(data.item_ids)], "item_idx int, item_id string")
    factors = None
    if isinstance(model, ALS):  # scored from its own user factors, as the single-node ALS scores its users
        ds = model.dataset_
        factors = spark.createDataFrame(pd.DataFrame({"user_id": [str(u) for u in ds.user_ids],
                                                      "features": list(model.user_factors_.astype(float))}))
    frame = top_k_frame(model, data, k=k, users=users, user_factors=factors) \
        .join(F.broadcast(mapping), "item_idx").select("user_id", "rank", "item_id", "score")
    frame.write.mode("overwrite").parquet(str(out))
    return spark.read.parquet(str(out)).count()
