"""TextProfile: the base contract, plus behaviour on the real Gift Cards store (embeddings cached on disk)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from contract import RecommenderContract

from shopsense.core.records import StoreData
from shopsense.recommend.base import Recommender
from shopsense.recommend.dataset import InteractionDataset
from shopsense.recommend.features import lexicon_sentiment, resolve_sentiment
from shopsense.recommend.text_profile import TextProfile

# A persistent embedding cache shared by the test modules: each text is encoded once, then looked up.
CACHE = str(Path(tempfile.gettempdir()) / "shopsense-test-embeddings")


def make_text_profile(**params: object) -> TextProfile:
    return TextProfile(cache_dir=CACHE, **params)


class TestTextProfileContract(RecommenderContract):
    def make_model(self) -> TextProfile:
        return make_text_profile()


@pytest.fixture(scope="module")
def fitted(gift_dataset: InteractionDataset) -> TextProfile:
    return make_text_profile().fit(gift_dataset)


def _items_of(ds: InteractionDataset, user: str) -> list[str]:
    return [str(ds.item_ids[i]) for i in ds.user_items(ds.user_index[user])]


def test_sentiment_scorer_polarity_and_plugging() -> None:
    pol = lexicon_sentiment(
        [
            "Great gift, she loved it!",
            "Terrible. The code did not work and support was useless.",
            "",
            "这个东西很好用，非常满意",
        ]
    )
    assert pol[0] > 0.3 and pol[1] < -0.3 and pol[2] == 0.0 and pol[3] > 0.0
    assert resolve_sentiment("shopsense.recommend.features:lexicon_sentiment") is lexicon_sentiment
    with pytest.raises(ValueError, match="cannot be imported"):
        resolve_sentiment("shopsense.nowhere:score")
    with pytest.raises(ValueError, match="lexicon"):
        resolve_sentiment("not a path")


def test_query_finds_matching_titles(fitted: TextProfile) -> None:
    ds = fitted.dataset_
    for query, word in [
        ("restaurant dinner gift card", None),
        ("Starbucks coffee", "starbucks"),
        ("iTunes music and apps", "itunes"),
    ]:
        recs = fitted.recommend_for_profile(query=query, k=5)
        assert len(recs) == 5
        if word:
            titles = [ds.item_title[ds.item_index[r.item_id]].lower() for r in recs[:3]]
            assert any(word in t for t in titles), (query, titles)


def test_profile_follows_the_users_items(fitted: TextProfile) -> None:
    """A user's top recommendations are closer in text to their own items than random items are."""
    ds = fitted.dataset_
    counts = np.diff(ds.matrix.indptr)
    rng = np.random.default_rng(0)
    gaps = []
    for u in np.flatnonzero(counts >= 8)[:40]:
        mine = ds.user_items(u)
        top = [ds.item_index[r.item_id] for r in fitted.recommend(str(ds.user_ids[u]), k=5)]
        rand = rng.choice(np.setdiff1d(np.arange(ds.n_items), mine), size=5, replace=False)
        sim = fitted.item_vecs_ @ fitted.item_vecs_[mine].T
        gaps.append(sim[top].mean() - sim[rand].mean())
    assert np.mean(gaps) > 0.05


def test_negative_review_pushes_away(gift_store: StoreData) -> None:
    """The same history with one item rated 1 star instead of 5 moves that item and its look-alikes down."""
    ds = InteractionDataset.from_store(gift_store)
    counts = np.diff(ds.matrix.indptr)
    user = str(ds.user_ids[int(np.flatnonzero(counts == 6)[0])])
    reviews = gift_store.reviews
    mine = reviews[reviews["user_id"] == user]
    target = mine["item_id"].iloc[0]

    def rated(stars: int, text: str) -> TextProfile:
        changed = reviews.copy()
        hit = (changed["user_id"] == user) & (changed["item_id"] == target)
        changed.loc[hit, "rating"] = stars
        changed.loc[hit, "text"] = text
        return make_text_profile(sentiment_weight=0.3, neg_weight=1.0).fit(
            InteractionDataset.from_store(StoreData(items=gift_store.items, reviews=changed))
        )

    happy = rated(5, "Wonderful card, the recipient loved it and it arrived instantly.")
    angry = rated(1, "Awful. The card was never activated and customer service refused to help. Avoid.")
    tv = happy.item_vecs_[happy.dataset_.item_index[target]]
    u = happy.dataset_.user_index[user]
    assert float(angry.user_vecs_[u] @ tv) < float(happy.user_vecs_[u] @ tv) - 0.2
    others = [angry.dataset_.item_index[i] for i in mine["item_id"] if i != target]
    assert float(angry.user_vecs_[u] @ tv) < float(np.mean(angry.item_vecs_[others] @ angry.user_vecs_[u]))
    # The target's nearest look-alikes (not bought by the user) rank lower once the target is disliked.
    sims = happy.item_similarity(happy.dataset_.item_index[target])
    seen = set(happy.dataset_.user_items(u))
    alike = [str(happy.dataset_.item_ids[i]) for i in np.argsort(-sims) if i not in seen][:5]
    n = happy.dataset_.n_items

    def mean_rank(model: TextProfile) -> float:
        order = [r.item_id for r in model.recommend(user, k=n)]
        return float(np.mean([order.index(i) for i in alike]))

    assert mean_rank(angry) > mean_rank(happy) + 3


def test_cold_item_fold_in_by_text(fitted: TextProfile, gift_dataset: InteractionDataset) -> None:
    """A new item nobody has bought is recommended to the users whose history matches its text."""
    m = make_text_profile().fit(gift_dataset)
    ds = m.dataset_
    title = ds.items["title"]
    fans_of = {}
    for brand in ("Starbucks", "iTunes"):
        items = [ds.item_index[i] for i in ds.item_ids[title.str.contains(brand, case=False).to_numpy()]]
        users = np.unique(ds.matrix[:, items].nonzero()[0])
        fans_of[brand] = [str(ds.user_ids[u]) for u in users]
    new = pd.DataFrame(
        {
            "item_id": ["new-coffee", "new-music"],
            "title": ["Starbucks Coffee eGift Card - Holiday", "iTunes Gift Card - Music, Apps, Movies"],
            "category": ["Gift Cards", "Gift Cards"],
            "description": ["Coffee at Starbucks stores.", "Songs and apps on iTunes."],
        }
    )
    m.fold_in_items(new)
    assert m.dataset_.matrix[:, m.dataset_.item_index["new-coffee"]].nnz == 0
    coffee_wins = np.mean(
        [m.score(u, ["new-coffee"])[0] > m.score(u, ["new-music"])[0] for u in fans_of["Starbucks"]]
    )
    music_wins = np.mean(
        [m.score(u, ["new-music"])[0] > m.score(u, ["new-coffee"])[0] for u in fans_of["iTunes"]]
    )
    assert coffee_wins >= 0.7 and music_wins >= 0.7
    recs = m.recommend(fans_of["Starbucks"][0], k=m.dataset_.n_items)
    rank = [r.item_id for r in recs].index("new-coffee")
    assert rank < len(recs) // 4
    coffee = next(r for r in recs if r.item_id == "new-coffee")
    assert coffee.explanation and coffee.explanation.startswith("New in Gift Cards")


def test_review_text_of_held_out_pairs_is_never_used(gift_store: StoreData) -> None:
    """Item vectors only see training reviews; without ``use_review_text`` they see none at all."""
    rows = gift_store.all_interactions()
    train_rows = rows.iloc[:-300]
    train_pairs = set(zip(train_rows["user_id"], train_rows["item_id"], strict=True))
    held = [
        (u, i) not in train_pairs
        for u, i in zip(gift_store.reviews["user_id"], gift_store.reviews["item_id"], strict=True)
    ]
    poisoned = gift_store.reviews.copy()
    poisoned.loc[held, "text"] = "zebra zebra zebra banana republic"
    fit = {}
    for name, reviews in (("clean", gift_store.reviews), ("poisoned", poisoned)):
        ds = InteractionDataset.from_interactions(train_rows, items=gift_store.items, reviews=reviews)
        fit[name] = make_text_profile().fit(ds)
    np.testing.assert_allclose(fit["clean"].item_vecs_, fit["poisoned"].item_vecs_, atol=1e-6)
    everything = gift_store.reviews.copy()
    everything["text"] = "zebra zebra zebra banana republic"
    full = InteractionDataset.from_store(gift_store)
    a = make_text_profile(use_review_text=False).fit(full)
    b = make_text_profile(use_review_text=False).fit(
        InteractionDataset.from_store(StoreData(items=gift_store.items, reviews=everything))
    )
    np.testing.assert_allclose(a.item_vecs_, b.item_vecs_, atol=1e-6)
    assert not np.allclose(a.item_vecs_, make_text_profile().fit(full).item_vecs_, atol=1e-3)


def test_explanations_after_save_and_load(fitted: TextProfile, tmp_path: Path) -> None:
    ds = fitted.dataset_
    user = str(ds.user_ids[int(np.argmax(np.diff(ds.matrix.indptr)))])
    recs = fitted.recommend(user, k=5)
    assert len(recs) == 5 and all(r.explanation for r in recs)
    loaded = Recommender.load(fitted.save(tmp_path / "tp"))
    assert loaded.recommend(user, k=5) == recs


def test_bad_params_are_clear_errors(gift_dataset: InteractionDataset) -> None:
    with pytest.raises(ValueError, match="sentiment_weight"):
        make_text_profile(sentiment_weight=2.0).fit(gift_dataset)
    with pytest.raises(ValueError, match="recency_half_life"):
        make_text_profile(recency_half_life=0).fit(gift_dataset)
