"""Leave-last-out on Spark with window functions, row for row the single-node splits.

* :func:`leave_last_out` is :func:`shopsense.core.splits.leave_last_out`: per user, rows ordered by (time,
  item id as text, input position); the last ``n_test`` are test, the ``n_valid`` before them validation;
  users with fewer than ``min_interactions`` rows stay whole in train; missing times are refused.
* :func:`protocol_split` is :func:`shopsense.recommend.protocol.leave_last_out`, the evaluation protocol:
  positive events only, one row per user-item pair (the earliest; ties to the first row), then per user
  ordered by (time, missing first; item id in id order), last = test, the one before = validation, users
  with fewer than 3 pairs unscored.

Both return a :class:`SparkSplit` whose three frames carry a ``part`` column too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shopsense.core.splits import check_leave_last_out
from shopsense.recommend.dataset import DEFAULT_EVENT_WEIGHTS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

_INT_ID = r"^-?\d{1,18}$"  # the id_sort_key rule: numeric order when every id is an integer literal


@dataclass
class SparkSplit:
    """Train, validation and test rows (disjoint, covering the input) of a Spark split."""

    train: DataFrame
    valid: DataFrame
    test: DataFrame
    frame: DataFrame  # every row with its ``part``: "train" | "valid" | "test"


def _parts(frame: DataFrame) -> SparkSplit:
    from pyspark.sql import functions as F

    frame = frame.cache()
    return SparkSplit(*(frame.filter(F.col("part") == p).drop("part") for p in ("train", "valid", "test")),
                      frame=frame)


def _assign(frame: DataFrame, user_col: str, order: list[Column], n_valid: int, n_test: int,
            min_interactions: int) -> DataFrame:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy(user_col).orderBy(*order)
    size = F.count(F.lit(1)).over(Window.partitionBy(user_col))
    ranked = frame.withColumn("_from_end", size - F.row_number().over(w)).withColumn("_size", size)
    eligible = F.col("_size") >= min_interactions
    part = (F.when(eligible & (F.col("_from_end") < n_test), "test")
            .when(eligible & (F.col("_from_end") < n_test + n_valid), "valid").otherwise("train"))
    return ranked.withColumn("part", part).drop("_from_end", "_size")


def leave_last_out(df: DataFrame, user_col: str = "user_id", item_col: str = "item_id",
                   time_col: str = "timestamp", position_col: str = "_pos", n_valid: int = 1, n_test: int = 1,
                   min_interactions: int = 3) -> SparkSplit:
    """:func:`shopsense.core.splits.leave_last_out` on Spark (same arguments, same checks and messages);
    ``position_col`` holds the input order (ties in time and item id go to the earlier row)."""
    from pyspark.sql import functions as F

    check_leave_last_out(n_valid, n_test, min_interactions)
    missing = [c for c in (user_col, item_col, time_col) if c not in df.columns]
    if missing:
        raise ValueError(f"split: missing column(s) {missing}; the frame has {list(df.columns)}")
    bad = df.filter(F.col(time_col).isNull() | F.isnan(F.col(time_col)) if dict(df.dtypes)[time_col] == "double"
                    else F.col(time_col).isNull())
    n_bad = bad.count()
    if n_bad:
        labels = [r[position_col] for r in bad.orderBy(position_col).limit(5).collect()]
        raise ValueError(f"split: column {time_col!r} has {n_bad} missing value(s) "
                         f"(first index labels: {labels}); drop or fill them before splitting")
    order = [F.col(time_col), F.col(item_col).cast("string"), F.col(position_col)]
    return _parts(_assign(df, user_col, order, n_valid, n_test, min_interactions))


def id_order(df: DataFrame, item_col: str = "item_id") -> list[Column]:
    """Sort columns that put item ids in *id order* (:func:`shopsense.recommend.dataset.id_sort_key`)."""
    from pyspark.sql import functions as F

    all_int = df.agg(F.min(F.col(item_col).rlike(_INT_ID).cast("int")).alias("ok")).first()["ok"]
    if all_int:
        return [F.col(item_col).cast("long"), F.col(item_col)]
    return [F.col(item_col)]


def positive_pairs(interactions: DataFrame) -> DataFrame:
    """Step 1 of the protocol: positive events, one row per user-item pair (its earliest; ties: first row)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    weights = F.create_map(*[x for k, v in DEFAULT_EVENT_WEIGHTS.items() for x in (F.lit(k), F.lit(v))])
    positive = interactions.filter(F.coalesce(weights[F.col("event")], F.lit(1.0)) > 0)
    w = Window.partitionBy("user_id", "item_id").orderBy(F.col("_ts").asc_nulls_first(), "_src", "_pos")
    return positive.withColumn("_n", F.row_number().over(w)).filter(F.col("_n") == 1).drop("_n") \
        .withColumn("weight", weights[F.col("event")].cast("double"))


def protocol_split(interactions: DataFrame) -> SparkSplit:
    """The evaluation protocol's leave-last-out (module docstring) on :attr:`SparkStore.interactions`."""
    from pyspark.sql import functions as F

    pairs = positive_pairs(interactions)
    order = [F.col("_ts").asc_nulls_first(), *id_order(pairs)]
    return _parts(_assign(pairs, "user_id", order, 1, 1, 3))
