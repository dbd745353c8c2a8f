"""The evaluation protocol on hand-made data with answers worked out by hand, plus one CLI run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopsense.core.records import StoreData
from shopsense.recommend.base import Recommender
from shopsense.recommend.dataset import InteractionDataset, id_sort_key
from shopsense.recommend.evaluation import compare_models, tune_and_test
from shopsense.recommend.popular import MostPopular
from shopsense.recommend.protocol import (
    cold_item_split,
    leave_last_out,
    metrics_from_ranks,
    random_expected,
    ranks_of_targets,
    rating_rows,
    rating_split,
)
from shopsense.recommend.specs import ModelSpec, param_grid


def _frame(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "item_id": [r[1] for r in rows],
            "timestamp": pd.to_datetime([r[2] for r in rows], unit="s", utc=True),
            "event": "purchase",
            "value": np.nan,
        }
    )


# u1: b and a share t=2 (a goes first: smaller id); a appears again at t=5 (the duplicate is dropped,
# so a stays at t=2). Sorted: c@1, a@2, b@2, e@3 -> test e, validation b, train c, a.
# u2: three rows at the same time: train a, validation c, test d (order by item id).
# u3: two interactions -> whole in train, not scored.
ROWS = [
    ("u1", "c", 1),
    ("u1", "b", 2),
    ("u1", "a", 2),
    ("u1", "e", 3),
    ("u1", "a", 5),
    ("u2", "d", 7),
    ("u2", "a", 7),
    ("u2", "c", 7),
    ("u3", "a", 4),
    ("u3", "b", 6),
]


def test_leave_last_out_split_by_hand() -> None:
    split = leave_last_out(_frame(ROWS))
    pairs = lambda df: sorted(zip(df["user_id"], df["item_id"], strict=True))  # noqa: E731
    assert pairs(split.test) == [("u1", "e"), ("u2", "d")]
    assert pairs(split.valid) == [("u1", "b"), ("u2", "c")]
    assert pairs(split.train) == [("u1", "a"), ("u1", "c"), ("u2", "a"), ("u3", "a"), ("u3", "b")]
    kept_a = split.train[(split.train["user_id"] == "u1") & (split.train["item_id"] == "a")]
    assert kept_a["_ts"].tolist() == [2.0]  # the earliest of the duplicate pair


def test_ids_order_numerically_when_all_are_integers() -> None:
    assert id_sort_key(["10", "9", "100"]).tolist() == [1, 0, 2]
    assert id_sort_key(["b10", "b9", "a"]).tolist() == [1, 2, 0]
    split = leave_last_out(_frame([("u", "10", 1), ("u", "9", 1), ("u", "100", 1)]))
    assert split.test["item_id"].tolist() == ["100"] and split.valid["item_id"].tolist() == ["10"]


def test_ranks_break_ties_to_the_smaller_item_and_skip_excluded() -> None:
    order = np.arange(5)
    scores = np.array([[0.5, 0.9, 0.5, np.nan, 0.5], [0.5, 0.9, 0.5, np.nan, 0.5]])
    # target 2 (score 0.5): 1 scores higher, 0 ties with a smaller id, 3 is excluded, 4 ties but is larger.
    # target 0: only 1 is higher, no smaller tied id.
    assert ranks_of_targets(scores, np.array([2, 0]), order).tolist() == [3, 2]
    assert ranks_of_targets(np.array([[-np.inf, -np.inf, 1.0]]), np.array([1]), order[:3]).tolist() == [3]


def test_metrics_by_hand() -> None:
    m = metrics_from_ranks(np.array([1, 3, 11]), k=10)
    np.testing.assert_allclose(m["ndcg@10"], [1.0, 1 / np.log2(4), 0.0])
    np.testing.assert_allclose(m["recall@10"], [1, 1, 0])
    np.testing.assert_allclose(m["mrr@10"], [1.0, 1 / 3, 0.0])
    r = random_expected(np.array([2]), k=10)
    np.testing.assert_allclose(r["ndcg@10"], [(1 + 1 / np.log2(3)) / 2])
    np.testing.assert_allclose(r["recall@10"], [1.0])


class FixedScores(Recommender):
    """A test double of a model: item ``i`` scores ``table[item_id]`` for every user."""

    name = "fixed"

    def __init__(self, table: dict[str, float] | None = None, label: str = "") -> None:
        self.table = table
        self.label = label

    def _fit(self, dataset: InteractionDataset) -> None:
        self.scores_ = np.array([self.table.get(str(i), 0.0) for i in dataset.item_ids], dtype=np.float64)

    def _score_rows(self, rows: sp.csr_matrix) -> np.ndarray:
        return np.tile(self.scores_, (rows.shape[0], 1))


def _store(rows: list[tuple[str, str, int]], extra_items: tuple[str, ...] = ()) -> StoreData:
    inter = _frame(rows)
    ids = sorted(set(inter["item_id"]) | set(extra_items))
    return StoreData(
        items=pd.DataFrame({"item_id": ids, "title": [f"item {i}" for i in ids]}), interactions=inter
    )


def test_tuning_picks_on_validation_and_tests_with_validation_excluded() -> None:
    store = _store(ROWS, extra_items=("f",))
    split = leave_last_out(store.all_interactions())
    from shopsense.recommend.evaluation_side import train_dataset

    ds = train_dataset(store, split.train, split.all_items)
    # Config "good" puts the validation items (b for u1, c for u2) on top; config "bad" buries them.
    good = {"b": 5.0, "c": 5.0, "e": 1.0, "d": 1.0, "f": 1.0}
    bad = {"b": -1.0, "c": -1.0, "e": 1.0, "d": 2.0, "f": 3.0}
    spec = ModelSpec("fixed", FixedScores, ({"table": bad, "label": "bad"}, {"table": good, "label": "good"}))
    res = tune_and_test(spec, ds, split.valid, split.test, {})
    assert res.params["label"] == "good"
    # Validation, config good: u1 (train a, c) ranks b first; u2 (train a) has b and c tied at 5.0,
    # and b wins the tie (smaller id), so c is rank 2.
    assert res.valid_ndcg == pytest.approx((1.0 + 1 / np.log2(3)) / 2)
    # Test, config good. u1: candidates exclude a, c (train) and b (validation): d, e, f all score 1 ->
    # ties in id order: d, e, f -> e is rank 2. u2: candidates exclude a (train), c (validation):
    # b 5.0 first, then d, e, f tied at 1 -> d is rank 2.
    assert res.metrics["ndcg@10"] == pytest.approx(1 / np.log2(3))
    assert res.metrics["mrr@10"] == pytest.approx(0.5)
    assert res.metrics["recall@10"] == pytest.approx(1.0)
    # Top-10 lists: u1 -> d, e, f ; u2 -> b, d, e, f => 4 distinct items of 6.
    assert res.metrics["coverage@10"] == pytest.approx(4 / 6)
    # Train popularity: a (3 users) rank 1, b and c (1 each) ranks 2 and 3, then d, e, f ranks 4, 5, 6.
    assert res.metrics["mean_pop_rank"] == pytest.approx((4 + 5 + 6 + 2 + 4 + 5 + 6) / 7)


def test_most_popular_on_the_protocol_by_hand() -> None:
    store = _store(ROWS)
    spec = ModelSpec("popular", MostPopular, param_grid(half_life_days=[None]), baseline=True)
    result = compare_models(store, [spec], cold_start=False, rating=False)
    (row,) = result.models
    # Train counts: a 3, b 1, c 1; d, e 0. u1 test e: candidates d, e (both 0) -> e rank 2.
    # u2 test d: candidates b (1), d (0), e (0) -> d rank 2.
    assert row.metrics["ndcg@10"] == pytest.approx(1 / np.log2(3))
    assert result.data["n_scored_users"] == 2 and result.data["n_train"] == 5
    payload = result.to_json()
    assert set(payload) == {"popular", "_meta"}
    assert {"ndcg@10", "recall@10", "mrr@10", "coverage@10", "params"} <= set(payload["popular"])
    assert payload["popular"]["params"] == {"half_life_days": None}


def test_cold_item_split_is_seeded_and_clean() -> None:
    rng = np.random.default_rng(0)
    rows = [
        (f"u{u}", f"i{i}", int(rng.integers(0, 1000)))
        for u in range(30)
        for i in rng.choice(50, 8, replace=False)
    ]
    inter = _frame(rows)
    a, b = cold_item_split(inter, seed=7), cold_item_split(inter, seed=7)
    assert a.cold_items == b.cold_items and len(a.cold_items) == round(0.1 * inter["item_id"].nunique())
    assert a.cold_items != cold_item_split(inter, seed=8).cold_items
    assert not set(a.train["item_id"]) & set(a.cold_items)
    assert set(a.test["item_id"]) <= set(a.cold_items)
    assert set(a.test["user_id"]) <= set(a.train["user_id"])
    expected = inter[inter["item_id"].isin(a.cold_items) & inter["user_id"].isin(set(a.train["user_id"]))]
    assert len(a.test) == len(expected.drop_duplicates(["user_id", "item_id"]))


def test_rating_split_keeps_earliest_duplicate_and_is_seeded() -> None:
    reviews = pd.DataFrame(
        {
            "user_id": ["u", "u", "v"] + [f"w{i}" for i in range(17)],
            "item_id": ["a", "a", "a"] + ["b"] * 17,
            "rating": [5, 1, 3] + [4] * 17,
            "text": ["late", "early", "x"] + ["y"] * 17,
            "timestamp": pd.to_datetime([20, 10, 5] + list(range(17)), unit="s", utc=True),
        }
    )
    rows = rating_rows(pd.DataFrame(columns=["user_id", "item_id", "timestamp", "event", "value"]), reviews)
    assert len(rows) == 19
    assert rows[(rows["user_id"] == "u")]["text"].tolist() == ["early"]
    train, test = rating_split(rows, seed=3)
    assert (len(train), len(test)) == (15, 4)
    assert train.equals(rating_split(rows, seed=3)[0])
    assert not set(zip(train["user_id"], train["item_id"], strict=True)) & set(
        zip(test["user_id"], test["item_id"], strict=True)
    )


def _write_store_dir(store: StoreData, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    store.items[["item_id", "title", "description", "category", "brand", "price"]].to_csv(
        folder / "items.csv", index=False
    )
    reviews = store.reviews.copy()
    reviews["timestamp"] = reviews["timestamp"].map(lambda t: t.isoformat())
    reviews.to_csv(folder / "reviews.csv", index=False)
    return folder


def test_cli_end_to_end(gift_store: StoreData, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from shopsense.cli import app

    data = _write_store_dir(gift_store, tmp_path / "gift")
    out = tmp_path / "result.json"
    res = CliRunner().invoke(
        app,
        [
            "evaluate",
            "recommend",
            "--data",
            str(data),
            "--json",
            str(out),
            "--models",
            "popular,itemknn",
            "--skip-rating",
            "--home",
            str(tmp_path / "home"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "NDCG@10" in res.output and "itemknn" in res.output
    payload: dict[str, Any] = json.loads(out.read_text())
    assert set(payload) == {"popular", "itemknn", "_meta"}
    assert payload["itemknn"]["ndcg@10"] > payload["popular"]["ndcg@10"]
    assert payload["_meta"]["cold_start_items"]["itemknn"]["note"].startswith("unable")
    bad = CliRunner().invoke(app, ["evaluate", "recommend", "--data", str(data), "--models", "nope"])
    assert bad.exit_code != 0 and "unknown model" in bad.output


def test_vectorised_top_k_equals_the_exact_one() -> None:
    from shopsense.recommend.filters import top_k, top_k_rows

    rng = np.random.default_rng(1)
    block = rng.integers(0, 4, size=(40, 30)).astype(np.float64)  # many ties at the k-th score
    block[rng.random(block.shape) < 0.2] = np.nan
    block[0, :] = np.nan  # no candidate at all
    block[1, 3:] = np.nan  # fewer candidates than k
    order = rng.permutation(30)
    for k in (1, 5, 30, 50):
        rows = top_k_rows(block, k, order)
        for r in range(len(block)):
            assert rows[r].tolist() == top_k(block[r], k, order).tolist()


def test_cli_reports_a_bad_store_cleanly(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from shopsense.cli import app

    data = tmp_path / "bad"
    data.mkdir()
    (data / "items.csv").write_text("item_id,name\nA,Guitar\n")
    (data / "interactions.csv").write_text("user_id,item_id,timestamp\nu1,A,2024-01-01\n")
    res = CliRunner().invoke(app, ["evaluate", "recommend", "--data", str(data), "--no-import"])
    said = " ".join(res.output.split())  # rich wraps long lines
    assert res.exit_code == 2
    assert "items.csv" in said and "title" in said
    assert "Traceback" not in said
    missing = CliRunner().invoke(app, ["evaluate", "recommend", "--data", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "not a directory" in " ".join(missing.output.split())


class TitleLength(FixedScores):
    """A content-only test double: scores an item by the length of its title (so cold items get scores)."""

    name = "title_length"
    supports_cold_items = True

    def _fit(self, dataset: InteractionDataset) -> None:
        self.scores_ = np.array([len(t) for t in dataset.item_title], dtype=np.float64)


def test_cold_start_protocol_against_a_direct_computation() -> None:
    from shopsense.recommend.evaluation_side import evaluate_cold_items

    rng = np.random.default_rng(3)
    rows = [(f"u{u}", f"i{i:02d}", int(rng.integers(0, 1000))) for u in range(40)
            for i in rng.choice(40, 6, replace=False)]
    inter = _frame(rows)
    ids = sorted(set(inter["item_id"]))
    titles = ["x" * int(n) for n in rng.integers(1, 4, len(ids))]  # short titles: many ties
    store = StoreData(items=pd.DataFrame({"item_id": ids, "title": titles}), interactions=inter)
    specs = [ModelSpec("title_length", TitleLength), ModelSpec("popular", MostPopular)]
    out = {r.name: r for r in evaluate_cold_items(store, specs, {"title_length": {}, "popular": {}}, seed=5)}
    assert out["popular"].note.startswith("unable") and not out["popular"].metrics
    split = cold_item_split(inter, seed=5)
    score = dict(zip(ids, map(len, titles), strict=True))
    expected = []
    for user, item in zip(split.test["user_id"], split.test["item_id"], strict=True):
        mine = set(split.test.loc[split.test["user_id"] == user, "item_id"]) - {item}
        cands = [c for c in split.cold_items if c not in mine]
        rank = 1 + sum(score[c] > score[item] or (score[c] == score[item] and c < item) for c in cands)
        expected.append(1 / np.log2(rank + 1) if rank <= 10 else 0.0)
    assert out["title_length"].metrics["ndcg@10"] == pytest.approx(np.mean(expected))
    assert out["random"].metrics["ndcg@10"] > 0
