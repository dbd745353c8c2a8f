"""A task trained on English and Chinese together offers a routed head: English messages read by a MiniLM head
trained on the English examples, the rest by the multilingual e5 head. English messages never reach e5.

Small real data: the shipped sentiment samples (``shopsense/nlp/data``, see its NOTICE), both languages.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopsense.nlp.builtin.sentiment import shipped_sentiment
from shopsense.nlp.classifier import TextClassifier
from shopsense.nlp.routed import LanguageRoutedClassifier, english_rows
from shopsense.nlp.selection import Candidate, select
from shopsense.nlp.tasks import load_task
from shopsense.nlp.training import fit_task, publish_task
from shopsense.registry import Registry
from shopsense.text.encoder import get_encoder


@pytest.fixture(scope="module")
def bilingual() -> pd.DataFrame:
    """40 English reviews for each of three labels, 40 Chinese ones for each of two (no Chinese neutral)."""
    data = shipped_sentiment(("en", "zh"))
    data = data[data["text"].str.len().between(8, 160)]
    return data.groupby(["lang", "label"]).sample(40, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def trained(bilingual: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory):
    cache = str(tmp_path_factory.mktemp("embeddings"))
    return fit_task("reviews", bilingual, "text", "label", encoder_backend="multilingual", baseline=None,
                    head="logreg", candidates=("routed-head",), cache_dir=cache)


def _calls(backend: str) -> int:
    """How many one-text calls the process's ``backend`` encoder has answered (from memory or not)."""
    encoder = get_encoder(backend)
    return encoder.hits_ + encoder.misses_


def test_mixed_data_trains_a_routed_head_beside_the_multilingual_one(trained) -> None:
    card = trained.card
    names = [c["name"] for c in card["candidates"]]
    assert names == ["frozen-head:multilingual", "routed-head:onnx+multilingual"]
    routed = next(c for c in card["candidates"] if c["name"] == "routed-head:onnx+multilingual")
    assert routed["published"] and card["model_kind"] == "routed-head"
    assert routed["encoder"]["backend"] == "onnx+multilingual"
    assert routed["encoder"]["encode"]["texts"] > 0  # the English head's own encoding
    assert card["encoder"]["backend"] == "onnx+multilingual"
    assert set(card["chosen"]) >= {"english", "other", "candidate"}
    clf = trained.classifier
    assert isinstance(clf, LanguageRoutedClassifier)
    assert clf.classes_ == ["negative", "neutral", "positive"] and clf.english.classes_ == clf.classes_


def test_english_messages_never_reach_the_multilingual_encoder(trained, tmp_path: Path) -> None:
    registry = Registry(tmp_path / "artifacts")
    version = publish_task(trained, registry)
    assert "routed-head" in (version.path / "MODEL_CARD.md").read_text(encoding="utf-8")
    task = load_task("reviews", registry)
    assert isinstance(task.classifier, LanguageRoutedClassifier)

    fresh = uuid.uuid4().hex[:6]  # a message no encoder has seen
    e5_before, minilm_before = _calls("multilingual"), _calls("onnx")
    english = task.predict_with_confidence([f"Absolutely love it, works perfectly, order {fresh}"])[0]
    assert english.label == "positive"
    assert _calls("multilingual") == e5_before and _calls("onnx") == minilm_before + 1
    assert set(english.scores) == {"negative", "neutral", "positive"}

    chinese = task.predict_with_confidence([f"太差了，完全不能用，退货 {fresh}"])[0]
    assert chinese.label == "negative"
    assert _calls("multilingual") == e5_before + 1 and _calls("onnx") == minilm_before + 1


def test_a_batch_keeps_its_order_and_matches_the_saved_model(trained, tmp_path: Path) -> None:
    texts = ["Terrible quality, broke after one day", "质量很好，非常满意", "It is okay, nothing special",
             "物流太慢了，很失望", "Great value, would buy again"]
    clf = trained.classifier
    assert english_rows(texts).tolist() == [True, False, True, False, True]
    together = clf.predict_with_confidence(texts)
    alone = [clf.predict_with_confidence([t])[0] for t in texts]
    assert [p.label for p in together] == [p.label for p in alone]
    assert together[0].label == "negative" and together[1].label == "positive"
    clf.save(tmp_path / "model")
    loaded = LanguageRoutedClassifier.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict_proba(texts)[1], clf.predict_proba(texts)[1], atol=1e-6)
    assert loaded.predict(texts) == clf.predict(texts)


def test_an_english_head_with_a_class_the_other_lacks_is_refused(trained) -> None:
    other = TextClassifier(encoder_backend="multilingual")
    other.classes_, other.unknown_label, other.mask_pii = ["negative", "positive"], None, True
    other.centroids_ = np.zeros((2, 384), np.float32)
    with pytest.raises(ValueError, match="neutral"):
        LanguageRoutedClassifier(trained.classifier.english, other)


def test_mostly_chinese_data_trains_no_routed_head(bilingual: pd.DataFrame, tmp_path: Path) -> None:
    chinese = pd.concat([bilingual[bilingual["lang"] == "zh"],
                         bilingual[bilingual["lang"] == "en"].groupby("label").head(5)])
    found = fit_task("zh-reviews", chinese, "text", "label", encoder_backend="multilingual", baseline=None,
                     head="logreg", cache_dir=str(tmp_path))
    assert [c["name"] for c in found.card["candidates"]] == ["frozen-head:multilingual"]


def _cand(name: str, kind: str, f1: float) -> Candidate:
    return Candidate(name, kind, None, {"macro_f1": f1, "accuracy": f1, "n": 400},  # type: ignore[arg-type]
                     {"n": 1, "accuracy": f1, "macro_f1": f1, "weighted_f1": f1}, [], 0.0)


def test_within_noise_the_routed_head_is_preferred_and_outside_it_is_not() -> None:
    winner, sel = select([_cand("e5", "frozen-head", 0.91), _cand("routed", "routed-head", 0.90)], n_valid=400)
    assert winner.name == "routed" and "reads English messages 5-10x faster" in sel["reason"]
    winner, _ = select([_cand("e5", "frozen-head", 0.95), _cand("routed", "routed-head", 0.85)], n_valid=400)
    assert winner.name == "e5"
