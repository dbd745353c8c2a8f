"""The hand-labelled aspect sentences (tests/data/aspect_sentences.csv, and the gift-card set
aspect_sentences_gift_cards.csv, a category no model is trained on) and the aspect-level scorer on them.
The full figures (fine-tuned model vs VADER) come from benchmarks/bench_aspects.py; here the quick-mode
model of the test workspace must still clearly beat guessing the majority class."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from shopsense.marketing.aspects import POLARITIES, aspect_polarities
from shopsense.marketing.opinion_store import sentiment_for
from shopsense.marketing.opinion_text import mentions_term, split_sentences
from shopsense.nlp.builtin.resources import in_test_bucket

LABELS = Path(__file__).resolve().parents[1] / "data" / "aspect_sentences.csv"
GIFT_CARDS = LABELS.with_name("aspect_sentences_gift_cards.csv")


def test_labels_are_well_formed_and_held_out() -> None:
    labels = pd.read_csv(LABELS)
    assert len(labels) >= 150
    assert set(labels["polarity"]) == set(POLARITIES)
    assert labels["aspect"].str.len().gt(0).all()
    for sentence, aspect in zip(labels["sentence"], labels["aspect"], strict=True):
        assert mentions_term(sentence, [aspect]) or aspect in sentence.lower(), (aspect, sentence)
    assert set(labels["source"]) == {"amazon-musical-instruments-5core", "womens-clothing-reviews"}
    assert not labels.duplicated(["sentence", "aspect"]).any()


def test_sentences_come_from_held_out_reviews(shared_data: Path) -> None:
    from shopsense.nlp.builtin.sentiment import load_amazon_instruments, load_clothing

    labels = pd.read_csv(LABELS)
    held_out = {s for df in (load_amazon_instruments(shared_data), load_clothing(shared_data))
                for t in df["text"] if in_test_bucket(t) for s in split_sentences(t)}
    missing = [s for s in labels["sentence"].unique() if s not in held_out]
    assert not missing, missing[:3]


def test_aspect_level_sentiment_beats_the_majority_class(marketing_workspace) -> None:
    labels = pd.read_csv(LABELS)
    model, _ = sentiment_for(marketing_workspace)
    pred = aspect_polarities(list(labels["sentence"]), list(labels["aspect"]), model)
    gold = list(labels["polarity"])
    majority = [labels["polarity"].mode()[0]] * len(gold)
    assert accuracy_score(gold, pred) > accuracy_score(gold, majority) + 0.1
    assert f1_score(gold, pred, average="macro") > f1_score(gold, majority, average="macro") + 0.2


def test_gift_card_labels_are_well_formed_and_from_their_source(shared_data: Path) -> None:
    labels = pd.read_csv(GIFT_CARDS)
    assert len(labels) >= 120 and set(labels["polarity"]) == set(POLARITIES)
    assert set(labels["source"]) == {"amazon-gift-cards-5core"}
    assert not labels.duplicated(["sentence", "aspect"]).any()
    for sentence, aspect in zip(labels["sentence"], labels["aspect"], strict=True):
        assert mentions_term(sentence, [aspect]) or aspect in sentence.lower(), (aspect, sentence)
    reviews = pd.read_json(shared_data / "amazon-gift-cards-5core" / "Gift_Cards_5.json.gz", lines=True)
    sentences = {s for t in reviews["reviewText"].dropna() for s in split_sentences(t)}
    missing = [s for s in labels["sentence"].unique() if s not in sentences]
    assert not missing, missing[:3]


def test_a_requirement_is_not_praise_with_the_trained_model(marketing_workspace) -> None:
    model, _ = sentiment_for(marketing_workspace)
    sentence = "you need lots of light for the scanner to register"
    polarities = aspect_polarities([sentence, sentence], ["light", "scanner"], model)
    assert len(polarities) == 2 and "positive" not in polarities
