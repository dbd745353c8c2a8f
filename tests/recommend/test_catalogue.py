"""One model-name registry: serving, the evaluation runner and the hybrid name models the same way."""

from __future__ import annotations

import pytest

from shopsense.recommend.catalogue import (
    BASE_MODEL_NAMES,
    MODEL_NAMES,
    build_recommender,
    model_class,
)
from shopsense.recommend.evaluation import all_specs
from shopsense.recommend.hybrid import DEFAULT_BASES, base_model


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_each_name_builds_the_model_of_that_name(name: str) -> None:
    model = build_recommender(name)
    assert type(model) is model_class(name)
    assert model.name == name  # what a saved model and its registry card call it


def test_context_keywords_reach_the_models_that_take_them() -> None:
    common = {"explain": False, "cache_dir": "/tmp/x", "seed": 7, "encoder_backend": "onnx"}
    assert build_recommender("als", **common).random_state == 7
    assert build_recommender("bpr", **common).random_state == 7
    text = build_recommender("text_profile", {"review_weight": 2.0}, **common)
    assert (text.explain, text.cache_dir, text.review_weight) == (False, "/tmp/x", 2.0)
    hybrid = build_recommender("hybrid", **common)
    assert (hybrid.explain, hybrid.cache_dir, hybrid.seed) == (False, "/tmp/x", 7)
    assert build_recommender("itemknn", {"k_neighbors": 5}, **common).get_params()["k_neighbors"] == 5
    with pytest.raises(TypeError, match="unknown keyword"):
        build_recommender("ease", threads=2)
    with pytest.raises(ValueError, match="unknown model 'svd'"):
        build_recommender("svd")


def test_every_user_of_model_names_draws_on_the_catalogue() -> None:
    from shopsense.serving.training import MODEL_CHOICES, choose_model

    assert {s.name for s in all_specs()} == set(MODEL_NAMES)
    assert set(DEFAULT_BASES) <= set(BASE_MODEL_NAMES) and "hybrid" not in BASE_MODEL_NAMES
    assert MODEL_CHOICES == ("auto", *MODEL_NAMES)
    assert choose_model(None, "bpr") == ("bpr", "asked for")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown base model 'hybrid'"):
        base_model("hybrid", {})
