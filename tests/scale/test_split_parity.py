"""The Spark splits give the single-node splits row for row: core/splits.py's leave-last-out on the same
generated cases as its own tests (ties in time, short users, other n_valid / n_test), its refusals, and the
evaluation protocol's split on the two benchmark stores and on a store with duplicates and missing times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from core.test_splits import interactions
from shopsense.core import splits
from shopsense.core.loaders import load_store_dir_strict
from shopsense.recommend import protocol
from shopsense.scale.load import from_store_data, read_store_dir
from shopsense.scale.split import leave_last_out, protocol_split

BENCH = ["gift-cards", "musical-instruments"]  # the benchmark stores of the `bench_stores` fixture


def _spark_parts(spark, df: pd.DataFrame, **kw) -> dict[str, set[int]]:
    frame = df.reset_index(drop=True)
    frame["_pos"] = np.arange(len(frame))  # the input order (ties in time and item go to the earlier row)
    frame["timestamp"] = (frame["timestamp"] - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    split = leave_last_out(spark.createDataFrame(frame), **kw)
    labels = df.index.to_numpy()
    return {name: {labels[r["_pos"]] for r in part.select("_pos").collect()}
            for name, part in (("train", split.train), ("valid", split.valid), ("test", split.test))}


@settings(max_examples=3, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=st.lists(interactions(max_rows=60), min_size=6, max_size=6))
def test_leave_last_out_equals_core_splits(spark, frames: list[pd.DataFrame]) -> None:
    # Six generated cases side by side (users kept apart, index labels made unique): one Spark job per setting.
    df = pd.concat([f.assign(user_id=f"c{n}-" + f["user_id"].astype(str))
                    .set_axis(np.asarray(f.index, dtype=np.int64) + 100_000 * n)
                    for n, f in enumerate(frames) if len(f)] or [frames[0]])
    if df.empty:
        return
    for kw in ({}, {"n_valid": 2, "n_test": 1, "min_interactions": 4}, {"n_valid": 0, "n_test": 2,
                                                                           "min_interactions": 3}):
        expected = splits.leave_last_out(df, **kw)
        got = _spark_parts(spark, df, **kw)
        assert got == {name: set(part.index) for name, part in expected.parts().items()}, kw


def test_leave_last_out_refuses_what_core_splits_refuses(spark) -> None:
    frame = pd.DataFrame({"user_id": ["u"] * 3, "item_id": ["a", "b", "c"], "timestamp": [1.0, None, 3.0],
                          "_pos": [10, 11, 12]})
    sdf = spark.createDataFrame(frame)
    with pytest.raises(ValueError, match=r"min_interactions=2 must be at least n_valid \+ n_test \+ 1 = 3"):
        leave_last_out(sdf, min_interactions=2)
    with pytest.raises(ValueError, match=r"n_valid and n_test must be >= 0"):
        leave_last_out(sdf, n_valid=-1)
    with pytest.raises(ValueError, match=r"column 'timestamp' has 1 missing value\(s\) \(first index labels: \[11\]\)"):
        leave_last_out(sdf)
    with pytest.raises(ValueError, match=r"column 'timestamp' has 1 missing value"):
        splits.leave_last_out(frame.set_index("_pos"))


def _pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["user_id"].astype(str), frame["item_id"].astype(str), strict=True))


def _assert_same_protocol_split(spark_store, single) -> None:
    expected = protocol.leave_last_out(single)
    got = protocol_split(spark_store.interactions)
    for name in ("train", "valid", "test"):
        want = getattr(expected, name)
        have = getattr(got, name).select("user_id", "item_id", "event", "_ts").toPandas()
        assert len(have) == len(want) and _pairs(have) == _pairs(want), name
        # the same row of each pair was kept (its event, and its time, missing or not)
        merged = have.merge(want[["user_id", "item_id", "event", "_ts"]], on=["user_id", "item_id"])
        assert (merged["event_x"] == merged["event_y"]).all(), name
        assert np.array_equal(merged["_ts_x"].to_numpy(), merged["_ts_y"].to_numpy(), equal_nan=True), name
    assert len(expected.test) >= 150  # every user of these stores is scored


@pytest.mark.parametrize("name", BENCH)
def test_protocol_split_equals_single_node_on_benchmark_stores(spark, bench_stores: Path, name: str) -> None:
    single = load_store_dir_strict(bench_stores / name).all_interactions()
    _assert_same_protocol_split(read_store_dir(spark, bench_stores / name), single)


def test_protocol_split_with_duplicates_missing_times_and_numeric_ids(spark) -> None:
    from shopsense.core.records import StoreData

    rng = np.random.default_rng(3)
    n = 3000
    ts = pd.to_datetime(1.6e9 + rng.integers(0, 40, n) * 86400.0, unit="s", utc=True)  # many ties
    ts = pd.Series(ts).mask(rng.random(n) < 0.05)  # and some missing times
    inter = pd.DataFrame({"user_id": [f"u{i}" for i in rng.integers(0, 150, n)],
                          "item_id": [str(i) for i in rng.integers(1, 120, n)],  # all integers: numeric id order
                          "timestamp": ts, "event": rng.choice(["view", "click", "purchase", "cart"], n),
                          "value": np.nan})
    reviews = pd.DataFrame({"user_id": [f"u{i}" for i in rng.integers(0, 150, 400)],
                            "item_id": [str(i) for i in rng.integers(1, 120, 400)], "rating": 5, "text": "ok",
                            "title": "", "review_id": [f"r{i}" for i in range(400)],
                            "timestamp": pd.to_datetime(1.6e9 + rng.integers(0, 40, 400) * 86400.0, unit="s",
                                                        utc=True)})
    items = pd.DataFrame({"item_id": [str(i) for i in range(1, 120)], "title": "t"})
    data = StoreData(items=items, interactions=inter, reviews=reviews)
    _assert_same_protocol_split(from_store_data(spark, data), data.all_interactions())
