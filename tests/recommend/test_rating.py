"""Rating prediction on a seeded split of the real Gift Cards reviews: the text model must beat the biases."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopsense.core.records import StoreData
from shopsense.recommend.features import catalog_texts
from shopsense.recommend.protocol import rating_rows, rating_split
from shopsense.recommend.rating import BiasOnly, GlobalMean, RatingModel, rmse

CACHE = str(Path(tempfile.gettempdir()) / "shopsense-test-embeddings")


@pytest.fixture(scope="module")
def split(gift_store: StoreData) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    rows = rating_rows(gift_store.all_interactions(), gift_store.reviews)
    train, test = rating_split(rows, seed=42)
    items_text = dict(
        zip(gift_store.items["item_id"].astype(str), catalog_texts(gift_store.items), strict=True)
    )
    return train, test, items_text


def _rmse(model, frame: pd.DataFrame) -> float:
    return rmse(frame["rating"], model.predict(frame["user_id"].tolist(), frame["item_id"].tolist()))


def test_rating_model_beats_tuned_biases(split) -> None:
    """Biases tuned on a validation part of the training 80%; the rating model reuses them."""
    train, test, items_text = split
    inner, valid = rating_split(train, seed=7, train_fraction=0.875)
    grid = list(itertools.product([1.0, 3.0, 10.0, 25.0], [1.0, 3.0, 10.0, 25.0]))
    ru, ri = min(grid, key=lambda g: _rmse(BiasOnly(*g).fit(inner), valid))
    mean = _rmse(GlobalMean().fit(train), test)
    bias = _rmse(BiasOnly(ru, ri).fit(train), test)
    model = RatingModel(reg_user=ru, reg_item=ri, cache_dir=CACHE).fit(train, items_text)
    full = _rmse(model, test)
    assert bias < mean
    assert full < 0.995 * bias, (mean, bias, full)
    gains = model.feature_importance()
    assert gains["knn_resid"] > 0 and gains["profile_sim"] > 0  # the text evidence is actually used


def test_predictions_for_unknown_users_and_items(split) -> None:
    train, _, items_text = split
    bias = BiasOnly().fit(train)
    known_item = train["item_id"].iloc[0]
    p = bias.predict(["nobody", "nobody"], [known_item, "no-such-item"])
    assert p[0] == pytest.approx(bias.mean_ + bias.item_bias_[bias.item_index_[known_item]])
    assert p[1] == pytest.approx(bias.mean_)
    model = RatingModel(cache_dir=CACHE, n_estimators=50).fit(train, items_text)
    q = model.predict(["nobody", train["user_id"].iloc[0]], ["no-such-item", known_item])
    assert np.all(np.isfinite(q)) and np.all((q >= 1) & (q <= 5))


def test_deterministic(split) -> None:
    train, test, items_text = split
    a = RatingModel(cache_dir=CACHE, n_estimators=60).fit(train, items_text)
    b = RatingModel(cache_dir=CACHE, n_estimators=60).fit(train, items_text)
    np.testing.assert_array_equal(
        a.predict(test["user_id"].tolist(), test["item_id"].tolist()),
        b.predict(test["user_id"].tolist(), test["item_id"].tolist()),
    )


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="missing column"):
        BiasOnly().fit(pd.DataFrame({"user_id": ["a"], "item_id": ["b"]}))
    with pytest.raises(ValueError, match=r"row 1: rating 'five' is not a number"):
        GlobalMean().fit(pd.DataFrame({"user_id": ["a", "b"], "item_id": ["x", "y"], "rating": [4, "five"]}))
    bias = BiasOnly().fit(pd.DataFrame({"user_id": ["a", "b"], "item_id": ["x", "y"], "rating": [4, 5]}))
    with pytest.raises(ValueError, match="2 user ids but 1 item ids"):
        bias.predict(["a", "b"], ["x"])
    with pytest.raises(ValueError, match="too few"):
        RatingModel(cache_dir=CACHE).fit(pd.DataFrame({"user_id": ["a"], "item_id": ["x"], "rating": [3]}))
