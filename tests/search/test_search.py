"""Hybrid product search over the real demo catalog: relevance, filters, Chinese queries, persistence."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from shopsense.core.loaders import load_store_dir
from shopsense.search import ProductSearch, SearchFilters


@pytest.fixture(scope="module")
def items():
    result = load_store_dir(Path(str(resources.files("shopsense") / "data" / "demo_store")))
    return result.store.items


@pytest.fixture(scope="module")
def engine(items, tmp_path_factory) -> ProductSearch:
    return ProductSearch(cache_dir=tmp_path_factory.mktemp("cache")).fit(items)


def titles(items, hits) -> list[str]:
    by_id = items.set_index("item_id")["title"]
    return [by_id[h.item_id].lower() for h in hits]


def test_finds_products_by_words_in_their_title(items, engine: ProductSearch) -> None:
    found = titles(items, engine.search("jigsaw puzzle", k=5))
    assert len(found) == 5
    assert sum("puzzle" in t or "jigsaw" in t for t in found) >= 4


def test_dense_side_answers_when_no_word_matches(items, engine: ProductSearch) -> None:
    hits = engine.search("plaything for infants", k=10)  # neither content word occurs in the catalog
    assert len(hits) == 10
    assert all(h.lexical_rank is None and h.dense_rank is not None for h in hits)


def test_filters_are_respected(items, engine: ProductSearch) -> None:
    prices = items.set_index("item_id")["price"]
    categories = items.set_index("item_id")["category"]
    top_category = categories.dropna().str.split(" > ").str[0].value_counts().index[0]
    hits = engine.search("game", k=20, filters=SearchFilters(category=top_category, max_price=10.0))
    assert hits
    for hit in hits:
        assert categories[hit.item_id].lower().startswith(top_category.lower())
        assert prices[hit.item_id] <= 10.0
    excluded = frozenset(h.item_id for h in hits[:3])
    again = engine.search("game", k=20, filters=SearchFilters(category=top_category, max_price=10.0,
                                                              exclude_item_ids=excluded))
    assert not excluded & {h.item_id for h in again}


@pytest.mark.parametrize("query, words", [("拼图", ("puzzle", "jigsaw")), ("恐龙玩具", ("dinosaur", "dino")),
                                          ("我想买个娃娃", ("doll",))])
def test_chinese_query_reaches_english_catalog(items, engine: ProductSearch, query, words) -> None:
    found = titles(items, engine.search(query, k=5))
    assert sum(any(w in t for w in words) for t in found) >= 3


def test_empty_and_impossible_queries(engine: ProductSearch) -> None:
    assert engine.search("   ") == []
    assert engine.search("lego", filters=SearchFilters(min_price=10_000)) == []


def test_save_and_load_give_the_same_results(engine: ProductSearch, tmp_path) -> None:
    engine.save(tmp_path / "search")
    loaded = ProductSearch.load(tmp_path / "search", cache_dir=engine.cache_dir)
    for query in ("dinosaur", "拼图"):
        before, after = engine.search(query, k=8), loaded.search(query, k=8)
        assert [h.item_id for h in after] == [h.item_id for h in before]
        assert [h.score for h in after] == pytest.approx([h.score for h in before])
