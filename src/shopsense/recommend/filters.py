"""Candidate filters (category, price range, exclusions) and exact top-k with the id-order tie-break."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from shopsense.core.catalog_filters import CatalogFilter, CategoryIndex
from shopsense.recommend.dataset import InteractionDataset


@dataclass(frozen=True)
class Filters(CatalogFilter):
    """Restrictions on which items may be recommended.

    ``category`` and the price bounds mean what they mean for search (one implementation,
    :mod:`shopsense.core.catalog_filters`): the category query, case-insensitively, is a prefix of the
    item's category path, so ``"Instruments"`` and ``"Instr"`` match ``"Instruments > Guitars"``; a price
    bound excludes items without a price. ``exclude_item_ids`` are never returned; ``include_item_ids``
    (when set) is the only pool.
    """

    exclude_item_ids: frozenset[str] = field(default_factory=frozenset)
    include_item_ids: frozenset[str] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "exclude_item_ids", frozenset(map(str, self.exclude_item_ids)))
        if self.include_item_ids is not None:
            object.__setattr__(self, "include_item_ids", frozenset(map(str, self.include_item_ids)))

    @classmethod
    def of(
        cls,
        *,
        category: str | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        exclude: Iterable[str] = (),
        include: Iterable[str] | None = None,
    ) -> Filters:
        """Convenience constructor taking any iterables of ids."""
        return cls(
            category,
            min_price,
            max_price,
            frozenset(exclude),
            None if include is None else frozenset(include),
        )


def filter_mask(ds: InteractionDataset, filters: Filters) -> np.ndarray:
    """(n_items,) bool: True where ``filters`` allow the item."""
    mask = filters.catalog_mask(category_index(ds), ds.item_price)
    if filters.exclude_item_ids:
        mask[ds.known_item_indices(filters.exclude_item_ids)] = False
    if filters.include_item_ids is not None:
        keep = np.zeros(ds.n_items, dtype=bool)
        keep[ds.known_item_indices(filters.include_item_ids)] = True
        mask &= keep
    return mask


def category_index(ds: InteractionDataset) -> CategoryIndex:
    """The :class:`CategoryIndex` of the dataset's items; cached on the dataset (rebuilt when items are added)."""
    cache = ds.__dict__.get("_category_index")
    if cache is None or len(cache) != ds.n_items:
        cache = CategoryIndex(ds.item_category)
        ds.__dict__["_category_index"] = cache
    return cache


def top_k(scores: np.ndarray, k: int, item_order: np.ndarray) -> np.ndarray:
    """Indices of the ``k`` best finite scores, best first; equal scores go to the smaller ``item_order``.

    Exact: every item tied with the k-th score is considered before the tie-break, so the result does
    not depend on how ``argpartition`` happened to split a tie.
    """
    scores = np.asarray(scores, dtype=np.float64)
    finite = np.isfinite(scores)
    n_valid = int(finite.sum())
    k = min(int(k), n_valid)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    work = np.where(finite, scores, -np.inf)
    if k < n_valid:
        part = np.argpartition(-work, k - 1)[:k]
        threshold = work[part].min()
        cand = np.flatnonzero(work >= threshold)
    else:
        cand = np.flatnonzero(finite)
    order = np.lexsort((item_order[cand], -work[cand]))
    return cand[order[:k]].astype(np.int64)


def top_k_rows(block: np.ndarray, k: int, item_order: np.ndarray) -> list[np.ndarray]:
    """:func:`top_k` for every row of ``block`` (users x items), with one vectorised partition.

    Rows where the k-th score is tied with items outside the partition (or with fewer than ``k``
    finite scores) fall back to the exact per-row :func:`top_k`, so results are identical to it.
    """
    work = np.where(np.isnan(block), -np.inf, np.asarray(block, dtype=np.float64))
    n_rows, n_items = work.shape
    k = min(int(k), n_items)
    if k <= 0:
        return [np.zeros(0, dtype=np.int64) for _ in range(n_rows)]
    if k < n_items:
        part = np.argpartition(-work, k - 1, axis=1)[:, :k]
    else:
        part = np.tile(np.arange(n_items), (n_rows, 1))
    vals = np.take_along_axis(work, part, axis=1)
    kth = vals.min(axis=1)
    clean = np.isfinite(kth) & ((work >= kth[:, None]).sum(axis=1) == k)
    out: list[np.ndarray] = []
    for r in range(n_rows):
        if clean[r]:
            idx = part[r]
            out.append(idx[np.lexsort((item_order[idx], -vals[r]))].astype(np.int64))
        else:
            out.append(top_k(work[r], k, item_order))
    return out
