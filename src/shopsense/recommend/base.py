"""The one contract every recommender follows (after ``implicit``'s ``RecommenderBase``).

A model implements a few *hooks*; the base class turns them into the public API:

==========================  =================================================================
hook (override)             what it must do
==========================  =================================================================
``_fit(dataset)``           learn from an :class:`InteractionDataset` (``self.dataset_`` is set)
``score_users(idx)``        ``(len(idx), n_items)`` float scores for known user indices. The
                            default calls ``_score_rows(dataset_.matrix[idx])``.
``_score_rows(rows)``       scores for users given as CSR rows over items (row-based models:
                            popularity, item-kNN, EASE). Enables profiles and fold-in for free.
``score_profile(profile)``  scores for an ad-hoc user (recent items and/or a text query); the
                            default builds a CSR row from the items and calls ``_score_rows``,
                            and raises :class:`UnsupportedRequest` for a query unless overridden.
``item_similarity(i)``      ``(n_items,)`` similarity of every item to item ``i``; default:
                            ``score_profile`` of that single item.
``_fold_in_users(ds, u)``   update state for (new or changed) users ``u`` of the grown dataset
                            ``ds``; default: nothing (row-based models score from rows).
``_fold_in_items(ds, i)``   make new item indices ``i`` scorable; default: unsupported.
``_get_state()`` /          arrays (numpy or scipy CSR) that :meth:`save` writes and :meth:`load`
``_set_state(state)``       gives back; ``_save_extra(dir)`` / ``_load_extra(dir)`` for other files.
==========================  =================================================================

Public API (do not override): :meth:`Recommender.fit`, :meth:`~Recommender.recommend`,
:meth:`~Recommender.recommend_batch`, :meth:`~Recommender.recommend_for_profile`,
:meth:`~Recommender.recommend_any`, :meth:`~Recommender.similar_items`, :meth:`~Recommender.score`,
:meth:`~Recommender.fold_in_users`, :meth:`~Recommender.fold_in_items`, :meth:`~Recommender.save`,
:meth:`Recommender.load`, :meth:`~Recommender.get_params`.

Semantics shared by all models:

* Unknown users: :meth:`~Recommender.recommend` raises :class:`UnknownUser`;
  :meth:`~Recommender.recommend_any` never does (known user -> recommend; else recent items/query ->
  profile; else most popular in the training data).
* Ranking: scores high to low; equal scores go to the smaller item id (``dataset.item_order``);
  NaN and ``-inf`` scores are never returned, so a list may be shorter than ``k``.
* ``exclude_seen`` removes items the user interacted with in the dataset (for profiles: the recent items).
"""

from __future__ import annotations

import inspect
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

from shopsense.recommend.dataset import InteractionDataset
from shopsense.recommend.filters import Filters, filter_mask, top_k, top_k_rows
from shopsense.recommend.registry_io import load_model, save_model

__all__ = ["Filters", "NotFitted", "Profile", "Recommendation", "Recommender", "RecommenderError",
           "UnknownItem", "UnknownUser", "UnsupportedRequest", "top_k"]



@lru_cache(maxsize=1)
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()


def single_thread_blas() -> AbstractContextManager[Any]:
    """BLAS limited to one thread: one user's scoring is too small to split, and on a busy 2-core box
    a multi-threaded BLAS call waiting for a second core costs milliseconds instead of microseconds."""
    return _blas_controller().limit(limits=1, user_api="blas")


class RecommenderError(Exception):
    """Base of every error a recommender raises on a bad request."""


class UnknownUser(RecommenderError, LookupError):
    """The user id is not in the model's data (use ``recommend_any`` or fold the user in)."""


class UnknownItem(RecommenderError, LookupError):
    """An item id is not in the model's data."""


class UnsupportedRequest(RecommenderError):
    """The model cannot serve this kind of request (e.g. a text query to a pure CF model)."""


class NotFitted(RecommenderError):
    """The model was used before ``fit``."""


@dataclass(frozen=True)
class Recommendation:
    """One recommended item: its id, the model's score and (filled by ``recommend.explain``) a reason."""

    item_id: str
    score: float
    explanation: str | None = None


@dataclass(frozen=True)
class Profile:
    """An ad-hoc user: recent item indices (with optional weights) and/or a free-text query."""

    item_indices: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    weights: np.ndarray | None = None
    query: str | None = None

    def as_row(self, n_items: int) -> sp.csr_matrix:
        """The profile as a 1 x n_items CSR row (weight 1 per item unless given)."""
        idx = np.asarray(self.item_indices, dtype=np.int64)
        w = (np.ones(len(idx), dtype=np.float32) if self.weights is None
             else np.asarray(self.weights, np.float32))
        row = sp.csr_matrix((w, (np.zeros(len(idx), dtype=np.int64), idx)), shape=(1, n_items))
        row.sum_duplicates()
        return row


class Recommender(ABC):
    """Base class of every shopsense recommender; see the module docstring for the hooks and semantics.

    Capability flags (class attributes) say what a model can do; for what a model declares it cannot do the
    public methods raise :class:`UnsupportedRequest`, and the contract tests check that they do.
    """

    name: ClassVar[str] = "base"
    supports_fold_in_users: ClassVar[bool] = True
    supports_fold_in_items: ClassVar[bool] = False
    supports_query: ClassVar[bool] = False
    supports_cold_items: ClassVar[bool] = False  # can rank items that have no interactions

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _fit(self, dataset: InteractionDataset) -> None:
        """Learn from ``dataset`` (already stored in ``self.dataset_``)."""

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        """``(len(user_indices), n_items)`` scores for users of ``dataset_`` (no masking applied)."""
        return self._score_rows(self.dataset_.matrix[np.asarray(user_indices, dtype=np.int64)])

    def _score_rows(self, rows: sp.csr_matrix) -> np.ndarray:
        raise UnsupportedRequest(f"{type(self).__name__} cannot score users from their items")

    def score_profile(self, profile: Profile) -> np.ndarray:
        """``(n_items,)`` scores for an ad-hoc user described by ``profile``."""
        if profile.query and not self.supports_query:
            raise UnsupportedRequest(f"{type(self).__name__} cannot use a text query; give recent items "
                                     "or use a text-capable model (text_profile, hybrid)")
        if len(profile.item_indices) == 0:
            raise UnsupportedRequest(f"{type(self).__name__} needs at least one known recent item")
        return np.asarray(self._score_rows(profile.as_row(self.dataset_.n_items)))[0]

    def item_similarity(self, item_index: int) -> np.ndarray:
        """``(n_items,)`` similarity of every item to ``item_index``."""
        return self.score_profile(Profile(item_indices=np.array([item_index])))

    def _fold_in_users(self, dataset: InteractionDataset, user_indices: np.ndarray) -> None:
        """Update state for users whose rows changed in ``dataset``; row-based models need nothing."""
        return None

    def _fold_in_items(self, dataset: InteractionDataset, item_indices: np.ndarray) -> None:
        raise UnsupportedRequest(f"{type(self).__name__} cannot fold in new items; refit instead")

    def _get_state(self) -> dict[str, Any]:
        return {}

    def _set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_get_state` returned."""
        return None

    def _save_extra(self, directory: Path) -> None:
        """Write files that do not fit in ``state.npz`` (e.g. a LightGBM model)."""
        return None

    def _load_extra(self, directory: Path) -> None:
        """Read what :meth:`_save_extra` wrote."""
        return None

    # ------------------------------------------------------------------ fitting
    def fit(self, dataset: InteractionDataset) -> Self:
        """Learn from ``dataset``; returns ``self``. Sets ``dataset_`` and ``fit_time_`` (seconds)."""
        start = time.perf_counter()
        self.dataset_ = dataset
        try:
            self._fit(dataset)
        except BaseException:
            del self.dataset_  # a failed fit leaves the model unfitted, not half-fitted
            raise
        self.fit_time_ = time.perf_counter() - start
        return self

    def get_params(self) -> dict[str, Any]:
        """The ``__init__`` hyperparameters and their values (for model cards and tuning)."""
        sig = inspect.signature(type(self).__init__)
        return {n: getattr(self, n) for n, p in sig.parameters.items()
                if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}

    def _check_fitted(self) -> InteractionDataset:
        ds = getattr(self, "dataset_", None)
        if ds is None:
            raise NotFitted(f"{type(self).__name__} is not fitted; call fit(dataset) first")
        return ds

    # ------------------------------------------------------------------ recommending
    def _user_index(self, user_id: str) -> int:
        ds = self._check_fitted()
        try:
            return ds.user_index[str(user_id)]
        except KeyError:
            raise UnknownUser(f"unknown user {user_id!r}: not in the training data of {self.name}") from None

    def _rank(self, scores: np.ndarray, k: int, seen: np.ndarray | None, filters: Filters | None,
              ) -> list[Recommendation]:
        ds = self.dataset_
        scores = np.array(scores, dtype=np.float64, copy=True)
        if seen is not None and len(seen):
            scores[seen] = -np.inf
        if filters is not None:
            scores[~filter_mask(ds, filters)] = -np.inf
        idx = top_k(scores, k, ds.item_order)
        return [Recommendation(str(ds.item_ids[i]), float(scores[i])) for i in idx]

    def recommend(self, user_id: str, k: int = 10, exclude_seen: bool = True,
                  filters: Filters | None = None) -> list[Recommendation]:
        """Top-``k`` items for a known user; raises :class:`UnknownUser` otherwise."""
        u = self._user_index(user_id)
        with single_thread_blas():
            scores = self.score_users(np.array([u]))[0]
        return self._rank(scores, k, self.dataset_.user_items(u) if exclude_seen else None, filters)

    def recommend_batch(self, user_ids: Sequence[str], k: int = 10, exclude_seen: bool = True,
                        filters: Filters | None = None, batch_size: int = 512) -> list[list[Recommendation]]:
        """:meth:`recommend` for many known users, scored a batch at a time (one matrix product each)."""
        ds = self._check_fitted()
        unknown = [u for u in user_ids if str(u) not in ds.user_index]
        if unknown:
            raise UnknownUser(f"{len(unknown)} unknown user(s), e.g. {unknown[:3]!r}")
        idx = np.asarray([ds.user_index[str(u)] for u in user_ids], dtype=np.int64)
        allowed = filter_mask(ds, filters) if filters is not None else None
        out: list[list[Recommendation]] = []
        for start in range(0, len(idx), batch_size):
            chunk = idx[start:start + batch_size]
            block = np.array(self.score_users(chunk), dtype=np.float64)  # a writable copy
            if allowed is not None:
                block[:, ~allowed] = -np.inf
            if exclude_seen:
                sub = ds.matrix[chunk]
                rows = np.repeat(np.arange(len(chunk)), np.diff(sub.indptr))
                block[rows, sub.indices] = -np.inf
            for r, top in enumerate(top_k_rows(block, k, ds.item_order)):
                out.append([Recommendation(str(ds.item_ids[i]), float(block[r, i])) for i in top])
        return out

    def _profile(self, recent_item_ids: Iterable[str] | None, query: str | None) -> Profile:
        ds = self._check_fitted()
        idx = ds.known_item_indices(recent_item_ids or [])
        return Profile(item_indices=idx, query=query or None)

    def recommend_for_profile(self, recent_item_ids: Sequence[str] | None = None, query: str | None = None,
                              k: int = 10, filters: Filters | None = None, exclude_seen: bool = True,
                              ) -> list[Recommendation]:
        """Recommend for someone not in the training data, from their recent items and/or a text query.

        Unknown recent item ids are ignored. Raises :class:`UnsupportedRequest` when nothing usable is
        left (no known item, and no query or a model that cannot use one).
        """
        profile = self._profile(recent_item_ids, query)
        with single_thread_blas():
            scores = self.score_profile(profile)
        return self._rank(scores, k, profile.item_indices if exclude_seen else None, filters)

    def recommend_any(self, user_id: str | None = None, k: int = 10, *,
                      recent_item_ids: Sequence[str] | None = None,
                      query: str | None = None, filters: Filters | None = None, exclude_seen: bool = True,
                      ) -> list[Recommendation]:
        """Never fails on a valid request: known user -> :meth:`recommend`; else profile; else popular."""
        ds = self._check_fitted()
        if user_id is not None and str(user_id) in ds.user_index:
            return self.recommend(user_id, k, exclude_seen, filters)
        try:
            return self.recommend_for_profile(recent_item_ids, query, k, filters, exclude_seen)
        except UnsupportedRequest:
            seen = ds.known_item_indices(recent_item_ids or []) if exclude_seen else None
            return self._rank(ds.item_popularity(), k, seen, filters)

    def similar_items(self, item_id: str, k: int = 10,
                      filters: Filters | None = None) -> list[Recommendation]:
        """The ``k`` items most similar to ``item_id`` (never the item itself)."""
        ds = self._check_fitted()
        i = ds.item_index.get(str(item_id))
        if i is None:
            raise UnknownItem(f"unknown item {item_id!r}")
        with single_thread_blas():
            scores = self.item_similarity(i)
        return self._rank(scores, k, np.array([i]), filters)

    def score(self, user_id: str, item_ids: Sequence[str]) -> np.ndarray:
        """Raw scores of ``item_ids`` for a known user (same scale ``recommend`` ranks by)."""
        ds = self._check_fitted()
        u = self._user_index(user_id)
        missing = [i for i in item_ids if str(i) not in ds.item_index]
        if missing:
            raise UnknownItem(f"unknown item(s) {missing[:5]!r}")
        cols = np.asarray([ds.item_index[str(i)] for i in item_ids], dtype=np.int64)
        with single_thread_blas():
            return np.asarray(self.score_users(np.array([u]))[0], dtype=np.float64)[cols]

    # ------------------------------------------------------------------ fold-in
    def fold_in_users(self, interactions: pd.DataFrame) -> Self:
        """Add interactions of new (or existing) users on known items without a full refit.

        ``interactions`` has ``user_id, item_id, timestamp[, event, value]``. Items must already be known
        (fold them in with :meth:`fold_in_items` first), else :class:`UnknownItem`.
        """
        ds = self._check_fitted()
        if not self.supports_fold_in_users:
            raise UnsupportedRequest(f"{type(self).__name__} cannot fold in users; refit instead")
        missing = sorted(set(interactions["item_id"].astype(str)) - set(ds.item_index))
        if missing:
            raise UnknownItem(f"fold_in_users: unknown item(s) {missing[:5]!r}; "
                              "fold them in with fold_in_items first")
        new_ds = ds.with_new_interactions(interactions)
        users = np.unique(interactions["user_id"].astype(str).map(new_ds.user_index).to_numpy(np.int64))
        self._own_state()
        self._fold_in_users(new_ds, users)
        self.dataset_ = new_ds
        return self

    def fold_in_items(self, items: pd.DataFrame, interactions: pd.DataFrame | None = None) -> Self:
        """Add catalog rows (and optionally interactions with them) without a full refit.

        What a new item's scores come from depends on the model: its interactions for CF models, its
        text for text models. Users in ``interactions`` that are new are added too.
        """
        ds = self._check_fitted()
        if not self.supports_fold_in_items:
            raise UnsupportedRequest(f"{type(self).__name__} cannot fold in new items; refit instead")
        inter = interactions if interactions is not None else pd.DataFrame(
            {"user_id": pd.Series(dtype=str), "item_id": pd.Series(dtype=str),
             "timestamp": pd.Series(dtype=float)})
        new_ds = ds.with_new_interactions(inter, items=items)
        new_items = np.arange(ds.n_items, new_ds.n_items, dtype=np.int64)
        self._own_state()
        self._fold_in_items(new_ds, new_items)
        self.dataset_ = new_ds
        return self

    def _own_state(self) -> None:
        """Writable copies of arrays loaded read-only from memory-mapped files, before a fold-in changes them (the
        saved version, which other server processes map, stays as it was)."""
        state = self._get_state()
        if any(_read_only(v) for v in state.values()):
            self._set_state({k: v.copy() if _read_only(v) else v for k, v in state.items()})

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model into directory ``path`` atomically (a temp directory, then renamed).

        Layout: ``model.json`` (class, params, format), ``state.npz`` (:meth:`_get_state`), ``dataset/``
        (:meth:`InteractionDataset.save`) and whatever :meth:`_save_extra` writes.
        """
        return save_model(self, Path(path))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Recommender:
        """Read a model written by :meth:`save`; the stored class must be ``cls`` or a subclass of it."""
        return load_model(Path(path), cls)


def _read_only(value: object) -> bool:
    if sp.issparse(value):
        return any(not a.flags.writeable for a in (value.data, value.indices, value.indptr))
    return isinstance(value, np.ndarray) and not value.flags.writeable
