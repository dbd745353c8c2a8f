"""The contract every recommender passes (after ``implicit``'s ``tests/recommender_base_test.py``).

Use it by subclassing in a ``test_*.py`` file::

    from contract import RecommenderContract

    class TestItemKNN(RecommenderContract):
        def make_model(self):
            return ItemKNN(k_neighbors=50)

Every test runs on the synthetic *planted* store of ``conftest.py`` (no external data, so the suite never
skips) and checks a known answer, not just shapes: two disjoint clusters of shoppers (coffee, music), in
each a planted item that every member but one (the target) bought, so the target's top recommendation is
the planted item, and the items most similar to a coffee item are coffee items. ``personalized = False``
marks the popularity baseline, whose known answer is the global popularity order instead.

Models declare what they can do with class attributes (``supports_fold_in_items``, ``supports_query``,
...); the tests of things a model does not support check that it refuses them with
:class:`UnsupportedRequest`. ``new_items_get_scores = False`` in a test subclass marks models (EASE) whose
folded-in items are recommendable but not yet scored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from planted_store import Planted

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


def _seen(ds: InteractionDataset, user: str) -> set[str]:
    return {str(ds.item_ids[i]) for i in ds.user_items(ds.user_index[user])}


class RecommenderContract:
    """Mixin of contract tests; subclasses implement :meth:`make_model`."""

    K = 10
    new_items_get_scores = True
    personalized = True  # False: every user gets the same (popularity) order

    def make_model(self) -> Recommender:
        raise NotImplementedError

    @pytest.fixture(scope="class")
    @classmethod
    def dataset(cls, planted: tuple[InteractionDataset, Planted]) -> InteractionDataset:
        return planted[0]

    @pytest.fixture(scope="class")
    @classmethod
    def answer(cls, planted: tuple[InteractionDataset, Planted]) -> Planted:
        return planted[1]

    @pytest.fixture(scope="class")
    @classmethod
    def model(cls, dataset: InteractionDataset) -> Recommender:
        return cls().make_model().fit(dataset)

    def expected_top(self, answer: Planted, cluster: str) -> str:
        """The known first recommendation for the target of ``cluster``."""
        return answer.planted[cluster] if self.personalized else answer.most_popular

    # -------------------------------------------------------------- fit, params
    def test_fit_returns_self_and_sets_state(self, dataset: InteractionDataset) -> None:
        m = self.make_model()
        assert m.fit(dataset) is m
        assert m.dataset_ is dataset
        assert m.fit_time_ >= 0

    def test_not_fitted_is_a_clear_error(self, answer: Planted) -> None:
        m = self.make_model()
        with pytest.raises(NotFitted):
            m.recommend(answer.target["coffee"])
        with pytest.raises(NotFitted):
            m.similar_items(answer.most_popular)
        with pytest.raises(NotFitted):
            m.recommend_any(None)

    def test_get_params_round_trip(self) -> None:
        m = self.make_model()
        params = m.get_params()
        assert params
        assert type(m)(**params).get_params() == params

    # -------------------------------------------------------------- recommend
    def test_planted_item_ranks_first_for_the_target(self, model: Recommender, answer: Planted) -> None:
        for cluster in answer.clusters:
            recs = model.recommend(answer.target[cluster], k=self.K)
            assert len(recs) == self.K
            assert recs[0].item_id == self.expected_top(answer, cluster), (cluster, _ids(recs))
            if self.personalized:  # strictly first, not first by the tie-break
                assert recs[0].score > recs[1].score

    def test_recommend_returns_k_sorted_unique_items(self, model: Recommender, answer: Planted) -> None:
        ds = model.dataset_
        users = [answer.target["coffee"], answer.target["music"], *answer.regular("coffee", 2),
                 *answer.regular("music", 2)]
        for user in users:
            recs = model.recommend(user, k=self.K)
            ids = _ids(recs)
            assert len(ids) == self.K
            assert len(set(ids)) == self.K
            assert all(i in ds.item_index for i in ids)
            assert not set(ids) & _seen(ds, user)
            scores = [r.score for r in recs]
            assert all(np.isfinite(scores))
            assert scores == sorted(scores, reverse=True)
            # Equal scores are ordered by item id order.
            for a, b in zip(recs, recs[1:], strict=False):
                if a.score == b.score:
                    assert ds.item_order[ds.item_index[a.item_id]] < ds.item_order[ds.item_index[b.item_id]]

    def test_exclude_seen(self, model: Recommender, answer: Planted) -> None:
        ds = model.dataset_
        user = answer.target["coffee"]
        seen = _seen(ds, user)
        assert len(seen) == len(answer.clusters["coffee"]) - 1
        unseen = set(map(str, ds.item_ids)) - seen
        # Every item has a finite score, so asking for all of them returns exactly the unseen ones.
        assert set(_ids(model.recommend(user, k=ds.n_items))) == unseen
        everything = _ids(model.recommend(user, k=ds.n_items, exclude_seen=False))
        assert len(everything) == ds.n_items and set(everything) == set(map(str, ds.item_ids))

    def test_filters_are_respected(self, model: Recommender, answer: Planted) -> None:
        ds = model.dataset_
        user = answer.target["music"]  # has seen no coffee item
        coffee = answer.clusters["coffee"]
        top = answer.category["coffee"]
        # Any case, spaces ignored: the top segment selects every item under it, and nothing else.
        broad = model.recommend(user, k=ds.n_items, filters=Filters(category=f" {top.upper()} "))
        assert set(_ids(broad)) == coffee
        assert not model.recommend(user, k=5, filters=Filters(category="Tea"))
        category = f"{top} > Beans"
        beans = {i for i in coffee if ds.item_category[ds.item_index[i]] == category}
        assert len(beans) >= 3
        exact = model.recommend(user, k=ds.n_items, filters=Filters(category=category.lower()))
        assert set(_ids(exact)) == beans
        prices = ds.item_price
        lo, hi = np.nanquantile(prices, [0.25, 0.75])
        in_range = {str(ds.item_ids[i]) for i in range(ds.n_items) if lo <= prices[i] <= hi}
        priced = model.recommend(user, k=ds.n_items, filters=Filters(min_price=lo, max_price=hi))
        assert priced and set(_ids(priced)) == in_range - _seen(ds, user)
        plain = _ids(model.recommend(user, k=self.K))
        assert len(plain) == self.K
        excluded = _ids(
            model.recommend(user, k=self.K, filters=Filters(exclude_item_ids=frozenset(plain[:3])))
        )
        assert len(excluded) == self.K and not set(plain[:3]) & set(excluded)
        assert excluded[: self.K - 3] == plain[3:]
        only = frozenset({answer.planted["coffee"], answer.planted["music"]})
        # The music target has not bought the music planted item; the coffee one outranks it only by
        # popularity.
        got = _ids(model.recommend(user, k=5, filters=Filters(include_item_ids=only)))
        assert set(got) == only and got[0] == self.expected_top(answer, "music")

    def test_batch_equals_single(self, model: Recommender, answer: Planted) -> None:
        users = [answer.target["coffee"], *answer.regular("coffee", 2), answer.target["music"],
                 *answer.regular("music", 2)]
        batch = model.recommend_batch(users, k=self.K, batch_size=4)
        assert len(batch) == len(users)
        for user, recs in zip(users, batch, strict=True):
            single = model.recommend(user, k=self.K)
            assert len(recs) == self.K
            assert _ids(recs) == _ids(single)
            np.testing.assert_allclose(
                [r.score for r in recs], [r.score for r in single], rtol=1e-5, atol=1e-6
            )
        assert batch[0][0].item_id == self.expected_top(answer, "coffee")
        assert batch[3][0].item_id == self.expected_top(answer, "music")
        f = Filters(exclude_item_ids=frozenset(_ids(batch[0])[:2]))
        filtered = _ids(model.recommend_batch(users[:1], k=5, filters=f)[0])
        assert len(filtered) == 5 and filtered == _ids(model.recommend(users[0], 5, filters=f))
        with pytest.raises(UnknownUser):
            model.recommend_batch([users[0], "no-such-user"], k=self.K)

    def test_score_agrees_with_recommend(self, model: Recommender, answer: Planted) -> None:
        ds = model.dataset_
        user = answer.target["coffee"]
        recs = model.recommend(user, k=self.K)
        assert len(recs) == self.K
        np.testing.assert_allclose(
            model.score(user, _ids(recs)), [r.score for r in recs], rtol=1e-5, atol=1e-6
        )
        seen = _seen(ds, user)
        others = [str(i) for i in ds.item_ids if str(i) not in seen and str(i) not in set(_ids(recs))]
        assert others
        assert model.score(user, others).max() <= recs[-1].score + 1e-6
        planted = model.score(user, [self.expected_top(answer, "coffee")])[0]
        assert planted >= max(model.score(user, sorted(set(map(str, ds.item_ids)) - seen))) - 1e-9
        with pytest.raises(UnknownItem):
            model.score(user, ["no-such-item"])

    def test_similar_items(self, model: Recommender, answer: Planted) -> None:
        for cluster in answer.clusters:
            item = answer.planted[cluster]
            sims = _ids(model.similar_items(item, k=self.K))
            assert item not in sims
            assert len(sims) == self.K and len(set(sims)) == self.K
            if self.personalized:
                # The nearest half are from the item's own cluster (the clusters share no shopper).
                half = sims[: self.K // 2]
                assert all(answer.cluster_of_item(i) == cluster for i in half), (cluster, sims)
            else:
                # Popularity: the same list for every item, the other planted item first.
                other = next(c for c in answer.clusters if c != cluster)
                assert sims[0] == answer.planted[other], sims
        restricted = model.similar_items(answer.planted["coffee"], k=self.K,
                                         filters=Filters(category=answer.category["music"]))
        assert restricted and all(answer.cluster_of_item(r.item_id) == "music" for r in restricted)
        with pytest.raises(UnknownItem):
            model.similar_items("no-such-item")

    # -------------------------------------------------------------- unknown users, profiles
    def test_unknown_user(self, model: Recommender, answer: Planted) -> None:
        ds = model.dataset_
        with pytest.raises(UnknownUser):
            model.recommend("no-such-user")
        fallback = model.recommend_any("no-such-user", k=self.K)
        assert len(fallback) == self.K and fallback[0].item_id == answer.most_popular
        known = model.recommend_any(answer.target["music"], k=self.K)
        assert _ids(known) == _ids(model.recommend(answer.target["music"], k=self.K))
        recent = sorted(_seen(ds, answer.target["music"]))
        by_profile = model.recommend_any("no-such-user", k=self.K, recent_item_ids=recent)
        assert len(by_profile) == self.K and not set(_ids(by_profile)) & set(recent)
        assert by_profile[0].item_id == self.expected_top(answer, "music")

    def test_recommend_for_profile(self, model: Recommender, answer: Planted) -> None:
        ds = model.dataset_
        items_a = sorted(_seen(ds, answer.target["coffee"]))
        items_b = sorted(_seen(ds, answer.target["music"]))
        rec_a = _ids(model.recommend_for_profile(items_a + ["no-such-item"], k=self.K))
        assert len(rec_a) == self.K and not set(rec_a) & set(items_a)
        assert rec_a[0] == self.expected_top(answer, "coffee")
        rec_b = _ids(model.recommend_for_profile(items_b, k=self.K))
        assert len(rec_b) == self.K and rec_b[0] == self.expected_top(answer, "music")
        if self.personalized:  # popularity ignores the profile beyond excluding it
            rec_user = _ids(model.recommend(answer.target["coffee"], k=self.K))
            assert _jaccard(rec_a, rec_user) > _jaccard(rec_a, rec_b)
        with pytest.raises(UnsupportedRequest):
            model.recommend_for_profile(["no-such-item"], k=self.K)  # nothing usable left
        if not model.supports_query:
            with pytest.raises(UnsupportedRequest):
                model.recommend_for_profile(query="a gift for my sister")
            return
        for query, cluster in (("coffee beans for espresso", "coffee"),
                               ("vinyl records and a turntable", "music")):
            recs = _ids(model.recommend_for_profile(query=query, k=5))
            assert len(recs) == 5
            assert all(answer.cluster_of_item(i) == cluster for i in recs[:3]), (query, recs)

    # -------------------------------------------------------------- persistence, determinism
    def test_save_load_round_trip(self, model: Recommender, answer: Planted, tmp_path: Path) -> None:
        path = model.save(tmp_path / "model")
        model.save(path)  # overwriting an existing save is atomic too
        loaded = Recommender.load(path)
        assert type(loaded) is type(model)
        assert loaded.get_params() == model.get_params()
        for user in (answer.target["coffee"], answer.target["music"], *answer.regular("coffee", 1)):
            recs = model.recommend(user, k=self.K)
            assert len(recs) == self.K and recs == loaded.recommend(user, k=self.K)
        item = answer.planted["music"]
        sims = _ids(model.similar_items(item, 5))
        assert len(sims) == 5 and sims == _ids(loaded.similar_items(item, 5))
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left behind
        # every saved array comes back memory-mapped and read-only: server processes share one copy
        arrays = [a for v in loaded._get_state().values() for a in ([v.data, v.indices] if sp.issparse(v) else [v])
                  if isinstance(a, np.ndarray) and a.ndim]
        assert all(_mapped(a) for a in arrays), [(type(a), type(a.base)) for a in arrays]

    def test_deterministic(self, dataset: InteractionDataset, model: Recommender, answer: Planted) -> None:
        again = self.make_model().fit(dataset)
        for user in (answer.target["coffee"], *answer.regular("music", 2)):
            got = _ids(again.recommend(user, k=self.K))
            assert len(got) == self.K and got == _ids(model.recommend(user, k=self.K))

    # -------------------------------------------------------------- fold-in
    def test_fold_in_new_user(self, dataset: InteractionDataset, answer: Planted, tmp_path: Path) -> None:
        # folded into a saved model, as serving does: its arrays are memory-mapped and read-only
        m = Recommender.load(self.make_model().fit(dataset).save(tmp_path / "model"))
        items_a = sorted(_seen(dataset, answer.target["coffee"]))
        new = pd.DataFrame(
            {"user_id": "new-user", "item_id": items_a, "timestamp": pd.Timestamp("2024-03-12", tz="UTC")}
        )
        if not m.supports_fold_in_users:
            with pytest.raises(UnsupportedRequest):
                m.fold_in_users(new)
            return
        before_a = _ids(m.recommend(answer.target["coffee"], k=self.K))
        before_b = _ids(m.recommend(answer.target["music"], k=self.K))
        m.fold_in_users(new)
        assert "new-user" in m.dataset_.user_index
        got = _ids(m.recommend("new-user", k=self.K))
        assert len(got) == self.K and not set(got) & set(items_a)
        # The new user bought what the coffee target bought: the same known answer.
        assert got[0] == self.expected_top(answer, "coffee")
        assert _jaccard(got, before_a) >= 0.5 and _jaccard(got, before_a) >= _jaccard(got, before_b)
        with pytest.raises(UnknownItem):
            m.fold_in_users(pd.DataFrame({"user_id": ["x"], "item_id": ["no-such-item"], "timestamp": [0]}))

    def test_fold_in_new_item(self, dataset: InteractionDataset, answer: Planted, tmp_path: Path) -> None:
        m = Recommender.load(self.make_model().fit(dataset).save(tmp_path / "model"))
        anchor = dataset.item_index[answer.planted["coffee"]]
        fans = [str(dataset.user_ids[u]) for u in dataset.matrix[:, anchor].nonzero()[0]]
        assert len(fans) == len(answer.members["coffee"]) - 1
        # A twin of the coffee planted item, bought by all its fans but the first one.
        row = pd.DataFrame(
            {
                "item_id": ["new-item"],
                "title": ["Coffee tasting set: six more single-origin roasts"],
                "description": ["Coffee tasting set. For coffee lovers."],
                "category": ["Coffee > New"],
                "price": [42.0],
            }
        )
        inter = pd.DataFrame(
            {"user_id": fans[1:], "item_id": "new-item", "timestamp": pd.Timestamp("2024-03-12", tz="UTC")}
        )
        if not m.supports_fold_in_items:
            with pytest.raises(UnsupportedRequest):
                m.fold_in_items(row, inter)
            return
        m.fold_in_items(row, inter)
        ds = m.dataset_
        assert "new-item" in ds.item_index and ds.n_items == dataset.n_items + 1
        only_new = Filters(include_item_ids=frozenset({"new-item"}))
        assert _ids(m.recommend(fans[0], k=5, filters=only_new)) == ["new-item"]
        assert _ids(m.recommend(fans[0], k=5, filters=Filters(category="coffee > new"))) == ["new-item"]
        # Users who bought it no longer get it.
        assert "new-item" not in _ids(m.recommend(fans[1], k=ds.n_items))
        if self.new_items_get_scores:
            # A coffee fan's new coffee item scores above every music item (and so above the median).
            music = sorted(answer.clusters["music"])
            new_score = m.score(fans[0], ["new-item"])[0]
            assert new_score > m.score(fans[0], music).max()
            unseen = [str(i) for i in ds.item_ids if str(i) not in _seen(ds, fans[0])]
            assert new_score > np.median(m.score(fans[0], unseen))


def _mapped(array: np.ndarray) -> bool:
    """Whether ``array`` is a read-only view of a memory-mapped file."""
    base = array
    while base is not None and not isinstance(base, np.memmap):
        base = base.base if isinstance(base, np.ndarray) else None
    return base is not None and not array.flags.writeable
