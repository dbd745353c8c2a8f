"""The one meaning of a catalog filter (a category path prefix and a price range), for search and recommendations.

Search (:class:`shopsense.search.SearchFilters`) and recommendations (:class:`shopsense.recommend.filters.Filters`)
both extend :class:`CatalogFilter`, so ``?category=...&min_price=...&max_price=...`` selects the same items on
``/v1/search`` as on ``/v1/recommendations``.

Category: both the query and each item's path are normalised (lower case, spaces around ``>`` and runs of
whitespace collapsed, empty levels dropped), then the query must be a prefix of the path. So ``"Hobbies"``,
``"hobbies > models"`` and ``"Hobb"`` all match ``"Hobbies > Models"``; a query ending in ``>``
(``"Hobbies >"``) asks for whole levels only. A blank query does not restrict.

Price: a bound keeps the items whose price is within it (inclusive); an item without a price is left out as soon
as either bound is given. A range whose minimum is above its maximum is an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

CATEGORY_SEPARATOR = ">"
_SEP = re.compile(r"\s*>\s*")


def normalise_category(path: object) -> str:
    """``" Hobbies >  Model  Kits "`` -> ``"hobbies>model kits"`` (``""`` for a missing path)."""
    if path is None or (isinstance(path, float) and path != path):
        return ""
    levels = (" ".join(level.split()) for level in _SEP.split(str(path).strip().lower()))
    return CATEGORY_SEPARATOR.join(level for level in levels if level)


def category_matches(path: object, query: str | None) -> bool:
    """Whether an item with category ``path`` passes the category filter ``query`` (see the module doc)."""
    want = normalise_category(query)
    if not want:
        return True
    have = normalise_category(path)
    if str(query).rstrip().endswith(CATEGORY_SEPARATOR):  # whole levels only
        return have == want or have.startswith(want + CATEGORY_SEPARATOR)
    return have.startswith(want)


class CategoryIndex:
    """The distinct normalised category paths of a catalog and each item's code into them.

    A filter is checked against the few distinct paths, then items are selected by code: O(n_items) numpy per
    query, no Python loop over the items. Build it once per catalog and keep it.
    """

    def __init__(self, categories: Iterable[object]) -> None:
        normalised = np.asarray([normalise_category(c) for c in categories], dtype=object).astype(str)
        names, codes = np.unique(normalised, return_inverse=True)
        self.names: list[str] = names.tolist()
        self.codes: np.ndarray = codes.astype(np.int64).reshape(-1)

    def __len__(self) -> int:
        return len(self.codes)

    def mask(self, query: str | None) -> np.ndarray:
        """(n_items,) bool: True where the item's category passes ``query``."""
        if not normalise_category(query):
            return np.ones(len(self.codes), dtype=bool)
        matching = np.fromiter((category_matches(n, query) for n in self.names), dtype=bool, count=len(self.names))
        return matching[self.codes] if len(self.codes) else np.zeros(0, dtype=bool)


def check_price_range(min_price: float | None, max_price: float | None, where: str = "filter") -> None:
    """Raise ValueError when ``min_price`` is above ``max_price``."""
    if min_price is not None and max_price is not None and min_price > max_price:
        raise ValueError(f"{where}: min_price {min_price} is above max_price {max_price}")


def price_mask(prices: np.ndarray, min_price: float | None, max_price: float | None) -> np.ndarray:
    """(n_items,) bool: True where the price is within the bounds; no price passes only when there is no bound."""
    prices = np.asarray(prices, dtype=np.float64)
    mask = np.ones(len(prices), dtype=bool)
    if min_price is None and max_price is None:
        return mask
    mask &= ~np.isnan(prices)
    if min_price is not None:
        mask &= np.nan_to_num(prices, nan=-np.inf) >= min_price
    if max_price is not None:
        mask &= np.nan_to_num(prices, nan=np.inf) <= max_price
    return mask


@dataclass(frozen=True)
class CatalogFilter:
    """A category path prefix and a price range (see the module doc); search and recommendation filters extend it."""

    category: str | None = None
    min_price: float | None = None
    max_price: float | None = None

    def __post_init__(self) -> None:
        check_price_range(self.min_price, self.max_price, type(self).__name__)

    def catalog_mask(self, categories: CategoryIndex, prices: np.ndarray) -> np.ndarray:
        """(n_items,) bool: True where an item passes the category and the price range."""
        mask = categories.mask(self.category)
        if self.min_price is not None or self.max_price is not None:
            mask &= price_mask(prices, self.min_price, self.max_price)
        return mask


__all__ = ["CATEGORY_SEPARATOR", "CatalogFilter", "CategoryIndex", "category_matches", "check_price_range",
           "normalise_category", "price_mask"]
