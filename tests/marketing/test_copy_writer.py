"""Copy generation on the real demo store: every variant passes the fact check, within its length limit,
in English and Chinese; a language model's unsupported text never reaches the shopper."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from shopsense.core.language import has_cjk
from shopsense.core.loaders import load_store_dir_strict
from shopsense.core.records import StoreData
from shopsense.data import demo_store_path
from shopsense.marketing.copy import (
    CopyError,
    CopyWriter,
    attribute_copy,
    attribute_coverage,
    build_item_facts,
)
from shopsense.marketing.copy_checks import CHANNEL_LIMITS, CopyChecker, similarity
from shopsense.marketing.copy_facts import attribute_item_facts
from shopsense.marketing.copy_templates import parse_advertisegen
from shopsense.text.generator import _ChatModelGenerator


@pytest.fixture(scope="module")
def demo() -> StoreData:
    return load_store_dir_strict(demo_store_path())


@pytest.fixture(scope="module")
def sample_ids(demo: StoreData) -> list[str]:
    # 50 items: the 25 most reviewed (rich highlights) and 25 spread over the catalog (often no reviews)
    reviewed = list(demo.reviews["item_id"].value_counts().index[:25])
    rest = [i for i in demo.items["item_id"] if i not in reviewed]
    return reviewed + rest[:: max(1, len(rest) // 25)][:25]


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("channel", ["headline", "short", "description"])
def test_fifty_items_three_variants_all_pass(demo: StoreData, sample_ids: list[str], channel: str,
                                            language: str) -> None:
    writer = CopyWriter()
    counts = []
    for item_id in sample_ids:
        facts = build_item_facts(demo.items, demo.reviews, item_id)
        result = writer.write(facts, channel, language, n=3, tone="friendly")
        counts.append(len(result.variants))
        checker = CopyChecker(facts.facts, channel)
        for v in result.variants:
            assert len(v.text) <= CHANNEL_LIMITS[channel], v.text
            assert checker.violations(v.text) == [], (item_id, v.text)
            assert v.checks["passed"] and v.facts, v
            assert {f["key"] for f in v.facts} <= {f.key for f in facts.facts.facts}
            if language == "zh":  # a Chinese variant says something in Chinese, whatever the catalog's language
                assert has_cjk(v.text), v.text
        for i, a in enumerate(result.variants):  # near-duplicates were dropped
            for b in result.variants[i + 1:]:
                assert a.text != b.text
    assert min(counts) >= 1
    assert sum(c == 3 for c in counts) >= 48, counts  # three distinct variants for nearly every item


def test_variants_use_the_item_facts(demo: StoreData) -> None:
    item_id = demo.reviews["item_id"].value_counts().index[0]
    facts = build_item_facts(demo.items, demo.reviews, item_id)
    result = CopyWriter().write(facts, "description", "en", n=3, tone="practical")
    text = " ".join(v.text for v in result.variants)
    assert facts.short_name.split()[0] in text
    if facts.price is not None:
        assert str(facts.money()) in text
    assert result.highlights and all(h["source"].startswith("rev-") for h in result.highlights)


def test_seed_changes_variants_deterministically(demo: StoreData) -> None:
    facts = build_item_facts(demo.items, demo.reviews, demo.reviews["item_id"].value_counts().index[1])
    writer = CopyWriter()
    a = [v.text for v in writer.write(facts, "short", "en", 3, seed=7).variants]
    assert a == [v.text for v in writer.write(facts, "short", "en", 3, seed=7).variants]
    assert a != [v.text for v in writer.write(facts, "short", "en", 3, seed=0).variants]


def test_bad_requests_name_the_field(demo: StoreData) -> None:
    facts = build_item_facts(demo.items, demo.reviews, demo.items["item_id"].iloc[0])
    for kwargs, field in (({"channel": "banner"}, "channel"), ({"language": "fr"}, "language"),
                          ({"tone": "angry"}, "tone"), ({"n": 0}, "n")):
        with pytest.raises(CopyError) as err:
            CopyWriter().write(facts, **kwargs)
        assert err.value.field == field
    with pytest.raises(CopyError, match="unknown item"):
        build_item_facts(demo.items, demo.reviews, "no-such-item")


def test_summary_highlights_and_aspect_filter(demo: StoreData) -> None:
    item_id = demo.items["item_id"].iloc[0]
    summary = {"praised": [{"aspect": "quality", "positive": 3, "mentions": 4, "quotes": ["Lovely quality pencils"]},
                           {"aspect": "price", "positive": 2, "mentions": 2, "quotes": ["Good price"]}]}
    facts = build_item_facts(demo.items, demo.reviews, item_id, summary=summary, aspects=["price"])
    assert [h.aspect for h in facts.highlights] == ["price"]
    texts = [v.text for v in CopyWriter().write(facts, "description", "en", 3).variants]
    assert any("price" in t for t in texts) and not any("quality" in t for t in texts)
    zh = [v.text for v in CopyWriter().write(facts, "description", "zh", 3).variants]
    assert any("价格" in t for t in zh)


class _ScriptedModel(_ChatModelGenerator):
    """A language-model backend whose 'model' returns fixed texts: the checks under test are real."""

    name = "scripted"

    def __init__(self, replies: list[str]) -> None:
        self.replies = replies
        self.calls = 0

    def complete(self, messages, max_tokens, temperature, seed):  # noqa: ANN001, ANN201
        reply = self.replies[self.calls % len(self.replies)]
        self.calls += 1
        return reply, len(reply.split()), False


def test_unsupported_model_text_falls_back_to_the_grounded_draft(demo: StoreData) -> None:
    item_id = demo.reviews["item_id"].value_counts().index[0]
    facts = build_item_facts(demo.items, demo.reviews, item_id)
    name = facts.short_name
    model = _ScriptedModel([f"The best {name} ever!", f"{name}: waterproof and only £0.99!",
                            f"The {name} from {facts.brand}. It is the number one toy."])
    result = CopyWriter(generator=model).write(facts, "description", "en", n=3)
    assert model.calls == 3 and len(result.variants) == 3
    first, second, third = result.variants
    assert first.fallback_used and any("superlative" in v for v in first.checks["model_violations"])
    assert second.fallback_used and any("price" in v for v in second.checks["model_violations"])
    # the third had one bad sentence: removed, the rest kept as the model wrote it
    assert facts.brand
    assert not third.fallback_used and third.text == f"The {name} from {facts.brand}."
    assert third.checks["removed"] == ["It is the number one toy."]
    checker = CopyChecker(facts.facts, "description")
    assert all(checker.violations(v.text) == [] for v in result.variants)


def test_model_text_that_passes_is_used(demo: StoreData) -> None:
    facts = build_item_facts(demo.items, demo.reviews, demo.reviews["item_id"].value_counts().index[0])
    model = _ScriptedModel([f"A {facts.short_name} for you."])
    result = CopyWriter(generator=model).write(facts, "short", "en", n=1)
    assert result.variants[0].text == f"A {facts.short_name} for you." and not result.variants[0].fallback_used
    assert result.backend == "scripted"


def test_chinese_copy_from_advertisegen_attribute_pairs(shared_data: Path) -> None:
    path = shared_data / "zh-advertisegen-dev" / "dev.json"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:60]]
    coverage, reference = [], []
    for i, row in enumerate(rows):
        pairs = parse_advertisegen(row["content"])
        assert pairs, row["content"]
        result = attribute_copy(pairs, n=3, key=f"ag{i}")
        assert len(result.variants) == 3
        for v in result.variants:
            assert v.checks["passed"] and len(v.text) <= 500
            coverage.append(attribute_coverage(v.text, pairs))
        assert similarity(result.variants[0].text, result.variants[1].text) < 1
        reference.append(attribute_coverage(row["summary"], pairs))
    # every attribute value is stated; the human-written reference states fewer
    assert min(coverage) == 1.0
    assert pd.Series(reference).mean() < 1.0


def test_attribute_copy_rejects_invented_colour() -> None:
    pairs = parse_advertisegen("类型#上衣*颜色#黑白*材质#棉")
    checker = CopyChecker(attribute_item_facts(pairs).facts, "description")
    assert checker.violations("这款上衣，黑白配色。") == []
    assert any("红色" in v for v in checker.violations("这款上衣，红色配色。"))


def test_model_inventions_that_break_no_listed_rule_are_still_caught(demo: StoreData) -> None:
    facts = build_item_facts(demo.items, demo.reviews, demo.reviews["item_id"].value_counts().index[0])
    name = facts.short_name
    model = _ScriptedModel([f"{name}: crafted by elves in Lapland with magical sparkle dust.",
                            "根据剧口：我们献营一种本质", "Fri May (Sr) & Co., Ltd."])
    result = CopyWriter(generator=model).write(facts, "short", "en", n=3)
    assert model.calls == 3
    reasons = [" ".join(v.checks["model_violations"]) for v in result.variants]
    assert all(v.fallback_used for v in result.variants), reasons
    assert "wording is not in the facts" in reasons[0] and "elves" in reasons[0]
    assert "not written in English" in reasons[1] and "not named" in reasons[2]


@pytest.mark.parametrize("channel", ["headline", "short", "description"])
def test_a_store_s_chinese_title_names_the_product_in_chinese_copy(demo: StoreData, channel: str) -> None:
    item_id = demo.reviews["item_id"].value_counts().index[0]
    items = demo.items.copy()
    items["title_zh"] = None
    items.loc[items["item_id"] == item_id, "title_zh"] = "圣诞主题积木套装"
    facts = build_item_facts(items, demo.reviews, item_id)
    assert facts.title_zh == "圣诞主题积木套装"
    zh = CopyWriter().write(facts, channel, "zh", n=3, tone="friendly")
    checker = CopyChecker(facts.facts, channel)
    assert zh.variants
    for v in zh.variants:
        assert "圣诞主题" in v.text and checker.violations(v.text) == [], v.text
        assert any(f["key"].endswith(":zh:name") for f in v.facts), v.facts  # cited as the fact it states
    if channel == "headline":
        assert all("商品介绍" not in v.text for v in zh.variants)  # the name is Chinese: no filler tail
    en = CopyWriter().write(facts, channel, "en", n=3, tone="friendly")
    assert en.variants and all("圣诞" not in v.text for v in en.variants)
