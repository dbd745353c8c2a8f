"""The LightGBM hybrid: base contract, leak-free training, held-out quality on real Gift Cards data."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from contract import RecommenderContract

from shopsense.core.records import StoreData
from shopsense.recommend.dataset import InteractionDataset
from shopsense.recommend.evaluation_side import index_frame, train_dataset
from shopsense.recommend.features import pseudo_split
from shopsense.recommend.hybrid import Hybrid, model_specs
from shopsense.recommend.protocol import cold_item_split, leave_last_out, metrics_from_ranks, ranks_of_targets

CACHE = str(Path(tempfile.gettempdir()) / "shopsense-test-embeddings")
# Parameters chosen on Gift Cards validation data by benchmarks/bench_recommend.py (never on test).
TUNED = {
    "itemknn": {"k_neighbors": 100, "shrinkage": 0.0, "alpha": 0.5},
    "ease": {"lambda_": 50.0},
    "als": {"factors": 32, "alpha": 5.0, "regularization": 0.1, "iterations": 10},
    "text_profile": {"review_weight": 2.0, "recency_half_life": 365.0},
    "popular": {},
}


def make_hybrid(**params: object) -> Hybrid:
    return Hybrid(
        base_params=TUNED, cache_dir=CACHE, n_candidates=100, num_leaves=7, n_estimators=100, **params
    )


class TestHybridContract(RecommenderContract):
    def make_model(self) -> Hybrid:
        return make_hybrid()


def test_pseudo_split_holds_out_each_users_latest_item(gift_dataset: InteractionDataset) -> None:
    inner, users, targets = pseudo_split(gift_dataset)
    inter = gift_dataset.interactions
    for u, t in list(zip(users, targets, strict=True))[:50]:
        mine = inter[inter["user_idx"] == u]
        first = mine.groupby("item_idx")["timestamp"].min()
        latest = first[first == first.max()].index
        assert t == max(
            latest, key=lambda i: gift_dataset.item_order[i]
        )  # ties: last in id order, as the protocol
        assert inner.matrix[u, t] == 0 and gift_dataset.matrix[u, t] > 0
        assert len(inner.user_items(u)) == len(gift_dataset.user_items(u)) - 1
    held = set(zip(users.tolist(), targets.tolist(), strict=True))
    assert not held & set(zip(inner.reviews["user_idx"], inner.reviews["item_idx"], strict=True))
    counts = np.diff(gift_dataset.matrix.indptr)
    assert set(users) == set(np.flatnonzero(counts >= 3))


def _ndcg(model, ds: InteractionDataset, users: np.ndarray, targets: np.ndarray) -> np.ndarray:
    s = np.array(model.score_users(users), dtype=np.float64)
    sub = ds.matrix[users]
    s[np.repeat(np.arange(len(users)), np.diff(sub.indptr)), sub.indices] = np.nan
    return metrics_from_ranks(ranks_of_targets(s, targets, ds.item_order))["ndcg@10"]


def test_hybrid_beats_its_best_base_on_held_out_items(gift_store: StoreData) -> None:
    """Fitted on train only (validation and test items unseen), scored on the validation items."""
    split = leave_last_out(gift_store.all_interactions())
    ds = train_dataset(gift_store, split.train, split.all_items)
    users, targets = index_frame(ds, split.valid)
    hybrid = make_hybrid().fit(ds)
    got = _ndcg(hybrid, ds, users, targets)
    for name, base in hybrid.bases_.items():
        assert base.dataset_ is ds
        other = _ndcg(base, ds, users, targets)
        assert got.mean() > other.mean(), name
    assert got.mean() > 0.15


def test_cold_items_follow_the_text_model(gift_store: StoreData) -> None:
    split = cold_item_split(gift_store.all_interactions(), seed=42)
    all_items = sorted(set(split.train["item_id"]) | set(split.cold_items))
    ds = train_dataset(gift_store, split.train, all_items)
    hybrid = make_hybrid().fit(ds)
    cold = np.asarray([ds.item_index[i] for i in split.cold_items])
    users = np.unique(index_frame(ds, split.test)[0])[:30]
    h = hybrid.score_users(users)[:, cold]
    t = hybrid.bases_["text_profile"].score_users(users)[:, cold]
    for r in range(len(users)):
        np.testing.assert_array_equal(np.argsort(-h[r], kind="stable"), np.argsort(-t[r], kind="stable"))


def test_explained_and_queryable(gift_dataset: InteractionDataset) -> None:
    m = make_hybrid().fit(gift_dataset)
    user = str(gift_dataset.user_ids[int(np.argmax(np.diff(gift_dataset.matrix.indptr)))])
    recs = m.recommend(user, k=5)
    assert len(recs) == 5 and all(r.explanation for r in recs)
    starbucks = m.recommend_for_profile(query="Starbucks coffee", k=3)
    assert any(
        "starbucks" in gift_dataset.item_title[gift_dataset.item_index[r.item_id]].lower() for r in starbucks
    )


def test_model_specs_for_the_runner() -> None:
    specs = {s.name: s for s in model_specs()}
    assert set(specs) == {"text_profile", "hybrid"} and specs["hybrid"].uses_tuned
    h = specs["hybrid"].build(dict(specs["hybrid"].grid[0]), {"itemknn": {"k_neighbors": 20}, "ease": {}})
    assert h.base_models == ("itemknn", "ease") and h.base_params["itemknn"] == {"k_neighbors": 20}


def test_bad_params(gift_dataset: InteractionDataset) -> None:
    with pytest.raises(ValueError, match="unknown base model 'svd'"):
        Hybrid(base_models=("svd",)).fit(gift_dataset)
    with pytest.raises(ValueError, match="n_candidates"):
        Hybrid(n_candidates=0).fit(gift_dataset)
