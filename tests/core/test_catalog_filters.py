"""The one category / price filter that search and recommendations share."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopsense.core.catalog_filters import (
    CatalogFilter,
    CategoryIndex,
    category_matches,
    normalise_category,
    price_mask,
)

PATHS = ["Hobbies > Models", "Hobbies", "hobbies>Model Kits", "Hobbyist Tools", "Games > Hobbies",
         "Arts & Crafts > Paint", "", None]


def test_normalise_category() -> None:
    assert normalise_category("  Hobbies >  Model   Kits > ") == "hobbies>model kits"
    assert normalise_category(None) == normalise_category(float("nan")) == normalise_category("  ") == ""


@pytest.mark.parametrize("query, expected", [
    ("Hobbies", {"Hobbies > Models", "Hobbies", "hobbies>Model Kits"}),
    ("  HOBBIES > models ", {"Hobbies > Models"}),
    ("Hobbies>Model", {"Hobbies > Models", "hobbies>Model Kits"}),  # a prefix of a level's name too
    ("Hobb", {"Hobbies > Models", "Hobbies", "hobbies>Model Kits", "Hobbyist Tools"}),
    ("Hobbies >", {"Hobbies > Models", "Hobbies", "hobbies>Model Kits"}),  # ending in ">": whole levels
    ("Hobby >", set()),
    ("Models", set()),  # a prefix of the path, not a level anywhere in it
    ("Tea", set()),
])
def test_category_matches(query: str, expected: set[str]) -> None:
    assert {p for p in PATHS if category_matches(p, query)} == expected
    index = CategoryIndex(PATHS)
    assert {p for p, ok in zip(PATHS, index.mask(query), strict=True) if ok} == expected


@pytest.mark.parametrize("query", [None, "", "   ", " > "])
def test_a_blank_category_does_not_restrict(query: str | None) -> None:
    assert CategoryIndex(PATHS).mask(query).all()


def test_price_bounds_are_inclusive_and_need_a_price() -> None:
    prices = np.array([5.0, 10.0, np.nan, 20.0])
    assert price_mask(prices, None, None).tolist() == [True, True, True, True]
    assert price_mask(prices, 10.0, None).tolist() == [False, True, False, True]
    assert price_mask(prices, None, 10.0).tolist() == [True, True, False, False]
    assert price_mask(prices, 10.0, 10.0).tolist() == [False, True, False, False]


def test_an_inverted_price_range_is_an_error() -> None:
    with pytest.raises(ValueError, match="min_price 5 is above max_price 1"):
        CatalogFilter(min_price=5, max_price=1)


@given(paths=st.lists(st.text(alphabet="ab >", max_size=8), max_size=12), query=st.text(alphabet="ab >", max_size=5))
def test_index_agrees_with_the_matcher(paths: list[str], query: str) -> None:
    assert CategoryIndex(paths).mask(query).tolist() == [category_matches(p, query) for p in paths]


def test_catalog_mask_combines_category_and_price() -> None:
    index = CategoryIndex(["A > B", "A > C", "B", "A"])
    prices = np.array([1.0, 50.0, 1.0, np.nan])
    assert CatalogFilter("a", None, 10.0).catalog_mask(index, prices).tolist() == [True, False, False, False]
    assert CatalogFilter("a").catalog_mask(index, prices).tolist() == [True, True, False, True]
