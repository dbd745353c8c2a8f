"""Entity extraction on real-looking shopping and service messages, English and Chinese."""

from __future__ import annotations

import random

import pytest

from shopsense.nlp.entities import EntityExtractor, parse_amount
from shopsense.nlp.entity_eval import load_bitext_spans, span_scores


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor(brands=["LEGO", "Hasbro", "Melissa & Doug"],
                           categories=["Board Games", "Dolls", "Jigsaw Puzzles", "Remote Control Cars"])


def kinds(extractor: EntityExtractor, text: str) -> dict[str, object]:
    return {e.type: e.value for e in extractor.extract(text)}


def test_price_range_colour_brand(extractor: EntityExtractor) -> None:
    found = kinds(extractor, "I want a red lego set under £20")
    assert found["colour"] == "red"
    assert found["brand"] == "LEGO"
    assert found["price_range"] == {"min": None, "max": 20.0, "currency": "GBP"}


@pytest.mark.parametrize("text, low, high", [
    ("board games between 10 and 20 pounds", 10.0, 20.0),
    ("something from 5 to 10 dollars", 5.0, 10.0),
    ("anything over $50?", 50.0, None),
    ("我想要100元以下的娃娃", None, 100.0),
    ("预算100到200元", 100.0, 200.0),
])
def test_price_ranges(extractor: EntityExtractor, text: str, low: float | None, high: float | None) -> None:
    value = kinds(extractor, text)["price_range"]
    assert (value["min"], value["max"]) == (low, high)


def test_ids_sizes_and_categories(extractor: EntityExtractor) -> None:
    found = kinds(extractor, "where is my order number ORD-123456? I asked for size XL jigsaw puzzles")
    assert found["order_id"] == "ORD-123456"
    assert found["size"] == "XL"
    assert found["category"] == "Jigsaw Puzzles"
    assert kinds(extractor, "check invoice #12588")["invoice_id"] == "12588"
    assert kinds(extractor, "订单号 ORD-654321 到哪了")["order_id"] == "ORD-654321"


def test_chinese_colour_maps_to_canonical(extractor: EntityExtractor) -> None:
    assert kinds(extractor, "有没有黑色的遥控车")["colour"] == "black"


def test_places_and_names(extractor: EntityExtractor) -> None:
    assert kinds(extractor, "do you ship to Canada")["delivery_country"] == "Canada"
    assert kinds(extractor, "is it possible to order from Toronto")["delivery_city"] == "Toronto"
    assert kinds(extractor, "find my bill from Mr. Jones")["person_name"] == "Mr. Jones"


def test_contact_details_come_back_masked(extractor: EntityExtractor) -> None:
    entities = extractor.extract("mail me at jane.doe@example.com please")
    emails = [e for e in entities if e.type == "email"]
    assert emails and emails[0].text == "[EMAIL]"
    assert all("jane" not in str(e.value) for e in entities)


def test_no_entities_in_plain_chat(extractor: EntityExtractor) -> None:
    assert extractor.extract("thanks, that was helpful") == []


def test_parse_amount() -> None:
    assert parse_amount("£1,200") == 1200.0
    assert parse_amount("12,50 euros") == 12.5
    assert parse_amount("no digits") is None


def test_from_store_uses_catalog_vocabulary() -> None:
    import pandas as pd

    from shopsense.core.records import StoreData

    items = pd.DataFrame({"item_id": ["1"], "title": ["Kite"], "brand": ["Windy Co"],
                          "category": ["Outdoor > Kites & Wind Spinners"]})
    found = kinds(EntityExtractor.from_store(StoreData(items=items)), "any windy co kites?")
    assert found["brand"] == "Windy Co"
    assert found["category"] == "Kites & Wind Spinners"


def test_bitext_heldout_spans(shared_data) -> None:
    examples = load_bitext_spans(shared_data / "bitext-customer-support" / "bitext_customer_support_training_4.5k.csv")
    sample = random.Random(7).sample(examples, 800)
    report = span_scores(EntityExtractor(), sample)
    assert report["order_id"]["overlap_recall"] >= 0.95
    assert report["invoice_id"]["exact_f1"] >= 0.9
    assert report["delivery_city"]["overlap_recall"] >= 0.8
