"""Clause polarity rules (marketing.opinion_rules): requirements and advice are not praise, wishes are
criticism, negation is scoped to its clause. A stub model that always answers the same shows what the
rules change, whatever a trained model would have said."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shopsense.marketing.aspects import LexiconSentiment, aspect_polarities
from shopsense.marketing.opinion_rules import ClausePolarity, apply_rules
from shopsense.marketing.opinion_text import review_clauses, split_clauses


@dataclass(frozen=True)
class _Verdict:
    label: str
    confidence: float


class _Always:
    """A sentiment model with one answer: what a star-trained model says of a clause in a happy (or angry) review."""

    def __init__(self, label: str, confidence: float = 0.9) -> None:
        self.label, self.confidence = label, confidence

    def predict_with_confidence(self, texts: Sequence[str]) -> list[_Verdict]:
        return [_Verdict(self.label, self.confidence) for _ in texts]


def test_a_requirement_is_not_praise() -> None:
    sentence = "You need lots of light for the scanner to register."
    assert aspect_polarities([sentence, sentence], ["light", "scanner"], _Always("positive")) == ["neutral", "neutral"]
    advice = "You have to tune the strings before every gig."
    assert aspect_polarities([advice], ["strings"], _Always("positive")) == ["neutral"]
    # A complaint stays a complaint, and praise phrased with "need" stays praise.
    assert aspect_polarities([advice], ["strings"], _Always("negative")) == ["negative"]
    praise = "The kit has everything you need for the first lesson."
    assert aspect_polarities([praise], ["kit"], _Always("positive")) == ["positive"]
    assert aspect_polarities(["I would definitely buy this strap again."], ["strap"], _Always("positive")) == [
        "positive"]


def test_wishes_and_regrets_are_criticism() -> None:
    rows = ["I wish the cable had been longer.", "They should have included a case.",
            "I would have liked a second strap pin."]
    assert aspect_polarities(rows, ["cable", "case", "strap pin"], _Always("positive")) == ["negative"] * 3


def test_negation_flips_praise_and_softens_criticism() -> None:
    assert apply_rules("The seat is not comfortable.", "positive", 0.9).label == "negative"
    assert apply_rules("The seat is not comfortable.", "positive", 0.9).rule == "negation"
    assert apply_rules("The sound is not bad at all.", "negative", 0.9).label != "negative"
    assert apply_rules("I would not recommend this tuner.", "positive", 0.9).label == "negative"
    # Scope ends at the clause: the negation before "but" does not reach the praise after it.
    sentence = "The strap is not comfortable but the sound is great."
    assert aspect_polarities([sentence, sentence], ["strap", "sound"], _Always("positive")) == ["negative",
                                                                                               "positive"]


def test_statements_of_context_are_neutral_unless_the_model_is_sure() -> None:
    context = "This version is the replacement for the old model."
    assert apply_rules(context, "positive", 0.45) == apply_rules(context, "negative", 0.45)
    assert apply_rules(context, "positive", 0.6).label == "neutral" and apply_rules(context, "positive", 0.6).rule
    assert apply_rules(context, "negative", 0.95).label == "negative"
    # A complaint often names no opinion word: a plain majority for "negative" is enough.
    assert apply_rules("The parcel arrived a week late.", "negative", 0.6).label == "negative"
    assert apply_rules("The tone is wonderful.", "positive", 0.5).label == "positive"


def test_other_languages_keep_the_model_verdict() -> None:
    assert apply_rules("需要很多光线才能扫描", "positive", 0.5).label == "positive"


def test_clause_polarity_wraps_any_model_and_can_be_switched_off() -> None:
    texts = ["You need a capo for this song.", "Lovely warm tone."]
    ruled = ClausePolarity(_Always("positive")).predict_with_confidence(texts)
    assert [r.label for r in ruled] == ["neutral", "positive"] and ruled[0].rule == "condition"
    raw = ClausePolarity(_Always("positive"), rules=False).predict_with_confidence(texts)
    assert [r.label for r in raw] == ["positive", "positive"]
    lexicon = ClausePolarity(LexiconSentiment()).predict_with_confidence(["The pedal is not good."])
    assert lexicon[0].label == "negative"


def test_clauses_split_where_independent_statements_meet() -> None:
    [clauses] = review_clauses(["The metal ones are about the same price, they don't break, and sound way better."])
    texts = [c.text for c in clauses]
    assert texts[0] == "The metal ones are about the same price" and len(texts) == 3
    assert clauses[0].terms == ("price",)
    [clauses] = review_clauses(["For the price, it is great."])  # no verb before the comma: one clause
    assert [(c.text, c.terms) for c in clauses] == [("For the price, it is great.", ("price",))]
    [clauses] = review_clauses(["The handle and spring are stiff."])  # "and" joining nouns is no clause joint
    assert len(clauses) == 1 and set(clauses[0].terms) == {"handle", "spring"}
    assert split_clauses("Great value for money but the instructions were confusing.") == [
        "Great value for money", "but the instructions were confusing."]
