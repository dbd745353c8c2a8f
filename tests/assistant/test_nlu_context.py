"""The assistant's reading of a message: the trained intent model plus conversation patterns. The patterns
must add the moves a single-utterance classifier cannot see without costing it accuracy on held-out data."""

from __future__ import annotations

import numpy as np
import pytest

from shopsense.assistant.assistant import Assistant
from shopsense.nlp.builtin.intent import OUT_OF_SCOPE, bitext_test, out_of_scope_heldout


def test_patterns_cost_the_classifier_nothing_on_held_out_data(assistant: Assistant) -> None:
    bitext = bitext_test().sample(250, random_state=0)
    read = assistant.reader.read_many(bitext["text"].tolist())
    gold = bitext["label"].to_numpy()
    classifier = np.mean([u.classifier_intent == g for u, g in zip(read, gold, strict=True)])
    reader = np.mean([u.intent == g for u, g in zip(read, gold, strict=True)])
    assert reader >= classifier - 0.01, (reader, classifier)
    off_topic = assistant.reader.read_many(out_of_scope_heldout()["text"].tolist())
    rejected_by_classifier = np.mean([u.classifier_intent == OUT_OF_SCOPE for u in off_topic])
    rejected = np.mean([u.intent == OUT_OF_SCOPE for u in off_topic])
    assert rejected >= rejected_by_classifier - 0.03, (rejected, rejected_by_classifier)


@pytest.mark.parametrize(("text", "ordinal"), [("tell me about the second one", 1), ("the 3rd", 2), ("number 1", 0),
                                               ("the last one please", -1), ("第二个怎么样", 1), ("最后一个", -1)])
def test_references_to_the_list_shown(assistant: Assistant, text: str, ordinal: int) -> None:
    read = assistant.reader.read(text, has_shown_items=True)
    assert read.ordinal == ordinal and read.intent == "product_question"
    assert assistant.reader.read(text, has_shown_items=False).ordinal is None


@pytest.mark.parametrize(("text", "intent"), [
    ("something cheaper", "product_search"), ("in black", "product_search"), ("便宜一点的", "product_search"),
    ("not interested", "negative_feedback"), ("换一批", "negative_feedback"),
])
def test_refinements_after_a_list(assistant: Assistant, text: str, intent: str) -> None:
    assert assistant.reader.read(text, has_shown_items=True).intent == intent


@pytest.mark.parametrize(("text", "human"), [
    ("I want to speak to a real person", True), ("can I talk to someone please", True), ("转人工", True),
    ("could you ask an agent how to get my invoice?", False), ("ask an agent where to receive a refund", False),
])
def test_asking_for_a_person_is_not_asking_about_one(assistant: Assistant, text: str, human: bool) -> None:
    assert (assistant.reader.read(text).intent == "contact_human_agent") == human
