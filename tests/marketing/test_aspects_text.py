"""Sentences, clauses and aspect terms of review text (English via spaCy, Chinese via jieba)."""

from __future__ import annotations

from shopsense.marketing.opinion_text import mentions_term, review_clauses, split_clauses, split_sentences


def test_sentences_split_at_stops_and_glued_full_stops() -> None:
    text = "Lovely set. It came quickly!Whilst the box was torn, the train works.\nFive stars"
    assert split_sentences(text) == ["Lovely set.", "It came quickly!", "Whilst the box was torn, the train works.",
                                     "Five stars"]
    assert split_sentences("质量很好。物流很快！") == ["质量很好。", "物流很快!"]
    assert split_sentences("") == [] and split_sentences(None) == []


def test_clauses_split_at_contrast_words() -> None:
    assert split_clauses("Great value for money but the instructions were confusing.") == [
        "Great value for money", "but the instructions were confusing."]
    assert split_clauses("The colours are bright.") == ["The colours are bright."]
    assert split_clauses("质量很好，但是包装太差了") == ["质量很好", "但是包装太差了"]


def test_english_terms_are_noun_chunk_heads_with_compounds() -> None:
    [clauses] = review_clauses(["The battery life is short but my son loves the remote control car."])
    terms = [c.terms for c in clauses]
    assert terms[0] == ("battery life",)
    assert "son" not in terms[1][0] and any("car" in t for t in terms[1])  # people are not aspects
    [clauses] = review_clauses(["Good quality and great value."])
    assert set(clauses[0].terms) == {"quality", "value"}  # "good"/"great" are not part of the term


def test_chinese_terms_come_from_jieba_nouns() -> None:
    [clauses] = review_clauses(["质量很好，但是包装太差了。物流很快！"])
    assert [c.terms for c in clauses] == [("质量",), ("包装",), ("物流",)]


def test_mentions_term_handles_plurals_and_multiword_terms() -> None:
    assert mentions_term("Batteries not included", ["battery"])
    assert mentions_term("A remote-control car", ["remote control"])
    assert mentions_term("The boxes were crushed", "box")
    assert not mentions_term("A boxing glove", ["box"])
    assert mentions_term("包装很好", ["包装"])
