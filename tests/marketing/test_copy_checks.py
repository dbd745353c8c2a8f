"""The copy checker: every rule must catch what it is for and let grounded text through."""

from __future__ import annotations

import pytest

from shopsense.marketing.copy_checks import (
    CopyChecker,
    distinct_n,
    near_duplicates,
    repair,
    similarity,
    split_sentences,
)
from shopsense.text.grounding import Facts


@pytest.fixture()
def facts() -> Facts:
    f = Facts(known_titles=["Brio Wooden Railway Starter Set", "Crayola Long Barrel Colored Pencils"])
    f.add("product", "toy_1", "Product: Crayola Long Barrel Colored Pencils", "Crayola Long Barrel Colored Pencils")
    f.add("price", "toy_1:price", "Price: £2.87", 2.87)
    f.add("attribute", "toy_1:brand", "Brand: Crayola", "Crayola")
    f.add("attribute", "toy_1:pieces", "Pieces: 12", "12")
    f.add("attribute", "toy_1:age", "Suitable for ages 8 and up (8岁以上)", 8)
    f.add("other", "toy_1:description", "Description: soft leads in bright colours; made of wood.")
    f.add("review", "rev-1", "Review quote: Excellent quality, my daughter loves the blue one")
    return f


def test_grounded_text_passes(facts: Facts) -> None:
    checker = CopyChecker(facts, "short")
    text = "Crayola Long Barrel Colored Pencils, 12 pieces for ages 8 and up. Price: £2.87."
    assert checker.check(text).passed, checker.violations(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("Crayola pencils, now only £1.99.", "price 1.99"),
    ("Crayola pencils. Now £2.87.", "sale wording 'now £'"),
    ("Crayola pencils, 20% off: £2.87.", "sale wording '20% off'"),
    ("Crayola pencils, reduced to £2.87.", "sale wording 'reduced'"),
    ("彩色铅笔特价£2.87。", "sale wording '特价'"),
    ("Crayola pencils: 24 pieces.", "number 24"),
    ("Waterproof Crayola pencils.", "claim 'waterproof'"),
    ("Crayola pencils in red.", "colour 'red'"),
    ("Crayola pencils made of plastic.", "material 'plastic'"),
    ("The best pencils in the shop.", "superlative 'best'"),
    ("The #1 choice for artists.", "superlative '#1'"),
    ("Crayola pencils: a miracle for artists.", "banned word 'miracle'"),
    ("Pair them with the Brio Wooden Railway Starter Set.", "Brio Wooden Railway Starter Set"),
    ("Questions? Write to help@example.com.", "e-mail address"),
    ("全网最好的彩色铅笔。", "superlative '最'"),
    ("防水彩色铅笔。", "claim '防水'"),
    ("红色彩色铅笔。", "colour '红色'"),
])
def test_each_rule_catches_its_case(facts: Facts, text: str, expected: str) -> None:
    found = CopyChecker(facts, "description").violations(text)
    assert any(expected in v for v in found), found


def test_supported_claims_and_colours_pass(facts: Facts) -> None:
    checker = CopyChecker(facts, "description")
    # "blue" is in a review quote, "wood" in the description: both are evidence
    assert checker.violations("A blue one, made of wood, says one shopper.") == []


def test_superlative_inside_a_product_name_is_not_a_claim() -> None:
    f = Facts().add("product", "toy_2", "Product: Perfect Petzzz Puppy", "Perfect Petzzz Puppy")
    checker = CopyChecker(f, "headline")
    assert checker.violations("Meet the Perfect Petzzz Puppy") == []
    assert checker.violations("The perfect puppy gift") != []


def test_length_limits_per_channel(facts: Facts) -> None:
    long = "Crayola Long Barrel Colored Pencils"  # 35 characters
    assert any("over the headline limit of 30" in v for v in CopyChecker(facts, "headline").violations(long))
    assert CopyChecker(facts, "short").violations(long) == []
    with pytest.raises(ValueError, match="channel"):
        CopyChecker(facts, "banner")


def test_repair_removes_only_the_offending_sentence(facts: Facts) -> None:
    checker = CopyChecker(facts, "description")
    text = "Meet the Crayola Long Barrel Colored Pencils. They are the best pencils ever. Price: £2.87."
    repaired, removed = repair(text, checker, required=["Crayola"])
    assert repaired == "Meet the Crayola Long Barrel Colored Pencils. Price: £2.87."
    assert removed == ["They are the best pencils ever. "]
    assert checker.violations(repaired) == []


def test_repair_rejects_when_the_product_is_no_longer_named(facts: Facts) -> None:
    checker = CopyChecker(facts, "description")
    repaired, _ = repair("The best Crayola pencils. Enjoy!", checker, required=["Crayola"])
    assert repaired == ""


def test_headlines_are_rejected_not_repaired(facts: Facts) -> None:
    checker = CopyChecker(facts, "headline")
    assert repair("Best Crayola pencils", checker) == ("", ["Best Crayola pencils"])
    assert repair("Crayola pencils", checker) == ("Crayola pencils", [])


def test_sentences_keep_prices_whole() -> None:
    assert split_sentences("Now £2.87. Rated 4.2 out of 5! 好用。真的") == ["Now £2.87. ", "Rated 4.2 out of 5! ",
                                                                          "好用。", "真的"]


def test_near_duplicates_ignore_the_shared_product_name() -> None:
    name = "Crayola Long Barrel Colored Pencils"
    texts = [f"Meet the {name}.", f"Meet the {name}!", f"{name}, rated 4.2 out of 5 by 5 shoppers."]
    assert near_duplicates(texts, ignore=[name]) == [1]
    assert similarity("abc def", "abc def") == 1.0


def test_distinct_n() -> None:
    assert distinct_n(["a b c", "a b d"], n=2) == pytest.approx(3 / 4)
    assert distinct_n(["好用好用"], n=2) == pytest.approx(2 / 3)
    assert distinct_n([]) == 0.0


def test_sale_wording_passes_when_the_facts_hold_a_sale_price(facts: Facts) -> None:
    facts.add("price", "toy_1:was_price", "Was: £3.50", 3.5)
    assert CopyChecker(facts, "description").violations("Crayola pencils, reduced to £2.87.") == []
