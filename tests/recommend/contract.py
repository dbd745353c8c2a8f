"""The contract every recommender passes (after ``implicit``'s ``tests/recommender_base_test.py``).

Use it by subclassing in a ``test_*.py`` file::

    from contract import RecommenderContract

    class TestItemKNN(RecommenderContract):
        def make_model(self):
            return ItemKNN(k_neighbors=50)

The fixture ``dataset`` (default: the Gift Cards 5-core store of ``conftest.py``, real data) can be
overridden in the subclass. Models declare what they can do with class attributes
(``supports_fold_in_items``, ``supports_query``, ...); the tests of things a model does not support check
that it refuses them with :class:`UnsupportedRequest`. ``new_items_get_scores = False`` in a test
subclass marks models (EASE) whose folded-in items are recommendable but not yet scored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopsense.recommend.base import (
    Filters,
    NotFitted,
    Recommender,
    UnknownItem,
    UnknownUser,
    UnsupportedRequest,
)
from shopsense.recommend.dataset import InteractionDataset


def _ids(recs: list) -> list[str]:
    return [r.item_id for r in recs]


def _jaccard(a: list[str], b: list[str]) -> float:
    return len(set(a) & set(b)) / max(1, len(set(a) | set(b)))


class RecommenderContract:
    """Mixin of contract tests; subclasses implement :meth:`make_model`."""

    K = 10
    new_items_get_scores = True

    def make_model(self) -> Recommender:
        raise NotImplementedError

    @pytest.fixture(scope="class")
    @classmethod
    def dataset(cls, gift_dataset: InteractionDataset) -> InteractionDataset:
        return gift_dataset

    @pytest.fixture(scope="class")
    @classmethod
    def model(cls, dataset: InteractionDataset) -> Recommender:
        return cls().make_model().fit(dataset)

    @pytest.fixture(scope="class")
    @classmethod
    def heavy_users(cls, dataset: InteractionDataset) -> list[str]:
        """Users with the most interactions (stable order), the ones whose lists depend most on them."""
        counts = np.diff(dataset.matrix.indptr)
        order = np.lexsort((np.arange(len(counts)), -counts))
        return [str(dataset.user_ids[u]) for u in order[:20]]

    # -------------------------------------------------------------- fit, params
    def test_fit_returns_self_and_sets_state(self, dataset: InteractionDataset) -> None:
        m = self.make_model()
        assert m.fit(dataset) is m
        assert m.dataset_ is dataset
        assert m.fit_time_ >= 0

    def test_not_fitted_is_a_clear_error(self) -> None:
        with pytest.raises(NotFitted):
            self.make_model().recommend("anyone")

    def test_get_params_round_trip(self) -> None:
        m = self.make_model()
        params = m.get_params()
        assert type(m)(**params).get_params() == params

    # -------------------------------------------------------------- recommend
    def test_recommend_returns_k_sorted_unique_items(
        self, model: Recommender, heavy_users: list[str]
    ) -> None:
        ds = model.dataset_
        for user in heavy_users[:5]:
            recs = model.recommend(user, k=self.K)
            ids = _ids(recs)
            assert len(ids) == self.K
            assert len(set(ids)) == self.K
            assert all(i in ds.item_index for i in ids)
            scores = [r.score for r in recs]
            assert all(np.isfinite(scores))
            assert scores == sorted(scores, reverse=True)
            # Equal scores are ordered by item id order.
            for a, b in zip(recs, recs[1:], strict=False):
                if a.score == b.score:
                    assert ds.item_order[ds.item_index[a.item_id]] < ds.item_order[ds.item_index[b.item_id]]

    def test_exclude_seen(self, model: Recommender, heavy_users: list[str]) -> None:
        ds = model.dataset_
        user = heavy_users[0]
        seen = {str(ds.item_ids[i]) for i in ds.user_items(ds.user_index[user])}
        assert not seen & set(_ids(model.recommend(user, k=ds.n_items)))
        everything = _ids(model.recommend(user, k=ds.n_items, exclude_seen=False))
        assert seen <= set(everything)

    def test_filters_are_respected(self, model: Recommender, heavy_users: list[str]) -> None:
        ds = model.dataset_
        user = heavy_users[1]
        cats = pd.Series(ds.item_category)
        category = cats[cats != ""].value_counts().index[0]
        top_segment = category.split(">")[0].strip()
        # Whole leading segments, any case: the top segment selects every item under it.
        broad = model.recommend(user, k=ds.n_items, filters=Filters(category=f" {top_segment.upper()} "))
        assert broad
        for r in broad:
            cat = ds.item_category[ds.item_index[r.item_id]]
            assert cat.split(">")[0].strip().lower() == top_segment.lower()
        assert not model.recommend(user, k=5, filters=Filters(category=top_segment[:-1]))
        exact = model.recommend(user, k=ds.n_items, filters=Filters(category=category))
        assert {ds.item_category[ds.item_index[r.item_id]] for r in exact} == {category}
        prices = ds.item_price
        lo, hi = np.nanquantile(prices, [0.25, 0.75])
        for r in model.recommend(user, k=ds.n_items, filters=Filters(min_price=lo, max_price=hi)):
            assert lo <= prices[ds.item_index[r.item_id]] <= hi
        plain = _ids(model.recommend(user, k=self.K))
        excluded = _ids(
            model.recommend(user, k=self.K, filters=Filters(exclude_item_ids=frozenset(plain[:3])))
        )
        assert not set(plain[:3]) & set(excluded)
        assert excluded[: self.K - 3] == plain[3:]

    def test_batch_equals_single(self, model: Recommender, heavy_users: list[str]) -> None:
        users = heavy_users[:6]
        batch = model.recommend_batch(users, k=self.K, batch_size=4)
        for user, recs in zip(users, batch, strict=True):
            single = model.recommend(user, k=self.K)
            assert _ids(recs) == _ids(single)
            np.testing.assert_allclose(
                [r.score for r in recs], [r.score for r in single], rtol=1e-5, atol=1e-6
            )
        f = Filters(exclude_item_ids=frozenset(_ids(batch[0])[:2]))
        assert _ids(model.recommend_batch(users[:1], k=5, filters=f)[0]) == _ids(
            model.recommend(users[0], 5, filters=f)
        )

    def test_score_agrees_with_recommend(self, model: Recommender, heavy_users: list[str]) -> None:
        ds = model.dataset_
        user = heavy_users[2]
        recs = model.recommend(user, k=self.K)
        np.testing.assert_allclose(
            model.score(user, _ids(recs)), [r.score for r in recs], rtol=1e-5, atol=1e-6
        )
        seen = set(ds.user_items(ds.user_index[user]))
        others = [
            str(ds.item_ids[i])
            for i in range(ds.n_items)
            if i not in seen and str(ds.item_ids[i]) not in set(_ids(recs))
        ]
        assert model.score(user, others).max() <= recs[-1].score + 1e-6
        with pytest.raises(UnknownItem):
            model.score(user, ["no-such-item"])

    def test_similar_items(self, model: Recommender) -> None:
        ds = model.dataset_
        item = str(ds.item_ids[int(np.argmax(ds.item_popularity()))])
        sims = model.similar_items(item, k=self.K)
        assert item not in _ids(sims)
        assert len(sims) == self.K and len(set(_ids(sims))) == self.K
        with pytest.raises(UnknownItem):
            model.similar_items("no-such-item")

    # -------------------------------------------------------------- unknown users, profiles
    def test_unknown_user(self, model: Recommender) -> None:
        with pytest.raises(UnknownUser):
            model.recommend("no-such-user")
        fallback = model.recommend_any("no-such-user", k=self.K)
        assert len(fallback) == self.K

    def test_recommend_for_profile(self, model: Recommender, heavy_users: list[str]) -> None:
        ds = model.dataset_
        a, b = heavy_users[0], heavy_users[3]
        items_a = [str(ds.item_ids[i]) for i in ds.user_items(ds.user_index[a])]
        items_b = [str(ds.item_ids[i]) for i in ds.user_items(ds.user_index[b])]
        rec_a = _ids(model.recommend_for_profile(items_a + ["no-such-item"], k=self.K))
        assert len(rec_a) == self.K and not set(rec_a) & set(items_a)
        rec_b = _ids(model.recommend_for_profile(items_b, k=self.K))
        if model.name != "popular":  # popularity ignores the profile beyond excluding it
            assert _jaccard(rec_a, _ids(model.recommend(a, k=self.K))) >= _jaccard(rec_a, rec_b)
        if not model.supports_query:
            with pytest.raises(UnsupportedRequest):
                model.recommend_for_profile(query="a gift for my sister")
        else:
            assert len(model.recommend_for_profile(query="a gift for my sister", k=5)) == 5

    # -------------------------------------------------------------- persistence, determinism
    def test_save_load_round_trip(self, model: Recommender, heavy_users: list[str], tmp_path: Path) -> None:
        path = model.save(tmp_path / "model")
        model.save(path)  # overwriting an existing save is atomic too
        loaded = Recommender.load(path)
        assert type(loaded) is type(model)
        assert loaded.get_params() == model.get_params()
        for user in heavy_users[:3]:
            assert model.recommend(user, k=self.K) == loaded.recommend(user, k=self.K)
        item = str(model.dataset_.item_ids[0])
        assert _ids(model.similar_items(item, 5)) == _ids(loaded.similar_items(item, 5))
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left behind

    def test_deterministic(
        self, dataset: InteractionDataset, model: Recommender, heavy_users: list[str]
    ) -> None:
        again = self.make_model().fit(dataset)
        for user in heavy_users[:3]:
            assert _ids(again.recommend(user, k=self.K)) == _ids(model.recommend(user, k=self.K))

    # -------------------------------------------------------------- fold-in
    def test_fold_in_new_user(self, dataset: InteractionDataset, heavy_users: list[str]) -> None:
        m = self.make_model().fit(dataset)
        a, b = heavy_users[0], heavy_users[3]
        items_a = [str(dataset.item_ids[i]) for i in dataset.user_items(dataset.user_index[a])]
        new = pd.DataFrame(
            {"user_id": "new-user", "item_id": items_a, "timestamp": pd.Timestamp.now(tz="UTC")}
        )
        if not m.supports_fold_in_users:
            with pytest.raises(UnsupportedRequest):
                m.fold_in_users(new)
            return
        before_a = _ids(m.recommend(a, k=self.K))
        before_b = _ids(m.recommend(b, k=self.K))
        m.fold_in_users(new)
        got = _ids(m.recommend("new-user", k=self.K))
        assert len(got) == self.K and not set(got) & set(items_a)
        assert _jaccard(got, before_a) >= 0.5 and _jaccard(got, before_a) >= _jaccard(got, before_b)
        with pytest.raises(UnknownItem):
            m.fold_in_users(pd.DataFrame({"user_id": ["x"], "item_id": ["no-such-item"], "timestamp": [0]}))

    def test_fold_in_new_item(self, dataset: InteractionDataset) -> None:
        m = self.make_model().fit(dataset)
        pop = dataset.item_popularity()
        anchor = int(np.argmax(pop))
        fans = [str(dataset.user_ids[u]) for u in dataset.matrix[:, anchor].nonzero()[0]]
        # A twin of the most popular item, bought by all its fans but the first one.
        row = pd.DataFrame(
            {
                "item_id": ["new-item"],
                "title": ["Brand-new gift card"],
                "category": ["Gift Cards > New"],
                "price": [25.0],
            }
        )
        inter = pd.DataFrame(
            {"user_id": fans[1:], "item_id": "new-item", "timestamp": pd.Timestamp.now(tz="UTC")}
        )
        if not m.supports_fold_in_items:
            with pytest.raises(UnsupportedRequest):
                m.fold_in_items(row, inter)
            return
        m.fold_in_items(row, inter)
        assert "new-item" in m.dataset_.item_index
        only_new = Filters(include_item_ids=frozenset({"new-item"}))
        assert _ids(m.recommend(fans[0], k=5, filters=only_new)) == ["new-item"]
        assert _ids(m.recommend(fans[0], k=5, filters=Filters(category="gift cards > new"))) == ["new-item"]
        if self.new_items_get_scores:
            ds = m.dataset_
            seen = set(ds.user_items(ds.user_index[fans[0]]))
            unseen = [str(ds.item_ids[i]) for i in range(ds.n_items) if i not in seen]
            scores = m.score(fans[0], unseen)
            assert m.score(fans[0], ["new-item"])[0] > np.median(scores)
