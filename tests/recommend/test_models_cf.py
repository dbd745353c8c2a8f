"""Contract tests of the collaborative-filtering models and the popularity baseline, plus model specifics."""

from __future__ import annotations

from contract import RecommenderContract

from shopsense.recommend.ease import EASE
from shopsense.recommend.factorization import ALS, BPR
from shopsense.recommend.itemknn import ItemKNN
from shopsense.recommend.popular import MostPopular


class TestMostPopular(RecommenderContract):
    personalized = False  # the same list for everyone: its known answer is the popularity order

    def make_model(self) -> MostPopular:
        return MostPopular(half_life_days=180.0)


class TestItemKNN(RecommenderContract):
    def make_model(self) -> ItemKNN:
        return ItemKNN(k_neighbors=50, shrinkage=10.0)


class TestEASE(RecommenderContract):
    new_items_get_scores = False  # documented: zero rows/columns until the next fit

    def make_model(self) -> EASE:
        return EASE(lambda_=50.0)


class TestALS(RecommenderContract):
    def make_model(self) -> ALS:
        # 8 factors: the planted store has 24 items, and 16 factors would all but memorise it (the
        # target's missing planted item included).
        return ALS(factors=8, alpha=5.0, regularization=0.05, iterations=10)


class TestBPR(RecommenderContract):
    def make_model(self) -> BPR:
        return BPR(factors=16, iterations=60)
