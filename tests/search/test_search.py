"""Hybrid product search over the real demo catalog: relevance, filters, Chinese queries, persistence."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from shopsense.core.loaders import load_store_dir
from shopsense.recommend.dataset import InteractionDataset
from shopsense.recommend.filters import Filters, filter_mask
from shopsense.search import ProductSearch, SearchFilters


@pytest.fixture(scope="module")
def store():
    return load_store_dir(Path(str(resources.files("shopsense") / "data" / "demo_store"))).store


@pytest.fixture(scope="module")
def items(store):
    return store.items


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
    hits = engine.search("playthings for tots", k=10)  # no content word occurs in the catalog
    assert hits
    assert all(h.lexical_rank is None and h.dense_rank is not None and h.meaning for h in hits)
    assert all(h.explanation == "Matches: close in meaning to your search." for h in hits)


@pytest.mark.parametrize("query", ["xyzzy", "qwerty asdf", "trousers", "choo choo"])
def test_a_query_that_matches_nothing_finds_nothing(engine: ProductSearch, query: str) -> None:
    """No word of the query is in the catalog and no item is close in meaning: nothing, not the nearest vectors."""
    assert engine.search(query, k=10) == []
    assert engine.search(query, k=10, honest=False)  # the nearest vectors are still there for who asks
    assert engine.suggest(query)  # something to try instead


def test_suggestions_correct_a_misspelt_word(engine: ProductSearch) -> None:
    assert {"dinosaur", "lego"} <= set(engine.suggest("dinosuar lgeo"))


def test_price_and_age_words_become_filters(items, engine: ProductSearch) -> None:
    rows = items.set_index("item_id")
    hits = engine.search("cheap puzzle under 5 pounds", k=20)
    assert hits
    for hit in hits:
        assert rows.loc[hit.item_id, "price"] <= 5.0  # an item without a price is never in a budget
        assert "under £5" in hit.explanation
    aged = engine.search("jigsaw for a 5 year old", k=20)
    assert aged
    for hit in aged:
        attributes = rows.loc[hit.item_id, "attributes"]
        assert attributes["min_age_months"] <= 60 and attributes.get("max_age_months", 60) >= 60
        assert "suitable for age 5" in hit.explanation
    # The filter a caller gives still holds; the query's words can only narrow it.
    narrowed = engine.search("puzzle under 50 pounds", k=20, filters=SearchFilters(max_price=6.0))
    assert narrowed and all(rows.loc[h.item_id, "price"] <= 6.0 for h in narrowed)


def test_each_explanation_says_what_matched_for_that_result(items, engine: ProductSearch) -> None:
    rows = items.set_index("item_id")
    hits = engine.search("wooden train", k=8)
    assert len({h.explanation for h in hits}) > 1  # not the same line for every result
    for hit in hits:
        title = rows.loc[hit.item_id, "title"].lower()
        for word in hit.title_words:
            assert word in title
        category = rows.loc[hit.item_id, "category"].lower()
        for word in hit.category_words:
            assert word in category
        assert hit.title_words or hit.category_words or hit.description_words or hit.meaning


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


def test_saved_index_carries_the_multilingual_vectors(engine: ProductSearch, tmp_path) -> None:
    engine.encode_multilingual()
    engine.save(tmp_path / "search")
    assert "dense_multilingual" in np.load(tmp_path / "search" / "index.npz").files
    loaded = ProductSearch.load(tmp_path / "search", cache_dir=engine.cache_dir)
    # Restored, not re-encoded on the first Chinese query.
    assert loaded.dense_multilingual_ is not None
    assert np.array_equal(loaded.dense_multilingual_, engine.dense_multilingual_)
    for query in ("wooden train set", "木头火车"):
        before, after = engine.search(query, k=10), loaded.search(query, k=10)
        assert before and [h.item_id for h in after] == [h.item_id for h in before]
        assert [(h.lexical_rank, h.dense_rank) for h in after] == [(h.lexical_rank, h.dense_rank) for h in before]
        assert [h.score for h in after] == pytest.approx([h.score for h in before])


def test_an_index_saved_before_chinese_queries_has_no_multilingual_vectors(items, tmp_path) -> None:
    fresh = ProductSearch(multilingual=True, cache_dir=tmp_path / "cache").fit(items.head(20))
    fresh.save(tmp_path / "search")
    assert "dense_multilingual" not in np.load(tmp_path / "search" / "index.npz").files
    assert ProductSearch.load(tmp_path / "search").dense_multilingual_ is None


# One filter semantics: the same category / price filter selects the same items for search and recommendations.
SAME_FILTERS = [
    {"category": "Hobbies"},
    {"category": "Hobb"},  # a prefix of a level's name
    {"category": " hobbies > "},  # any case, whole levels
    {"category": "Characters & Brands>Star Wars"},  # spaces around ">" do not matter
    {"category": "Characters & Brands > Star"},
    {"category": "Toys"},  # a level further down is not a prefix of the path
    {"min_price": 5.0, "max_price": 10.0},
    {"min_price": 0.0},
    {"category": "Games", "max_price": 8.5},
]


@pytest.mark.parametrize("case", SAME_FILTERS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_search_and_recommendations_filter_alike(store, engine: ProductSearch, case: dict) -> None:
    ds = InteractionDataset.from_store(store)
    assert set(map(str, ds.item_ids)) == set(engine.item_ids_)
    by_search = set(engine.item_ids_[engine._mask(SearchFilters(**case))].tolist())
    by_recommend = set(map(str, ds.item_ids[filter_mask(ds, Filters(**case))]))
    assert by_search == by_recommend
    categories = store.items.set_index("item_id")["category"].str.lower()
    if case.get("category") == "Hobb":
        assert by_search and all(categories[i].startswith("hobb") for i in by_search)
    if case.get("category") == "Toys":
        assert not by_search
