"""Recommendations computed in batch (``shopsense scale score --publish``), served as a lookup.

A store too large to score online scores every user offline, on Spark, and the server answers a known
user's request from that table: :class:`PrecomputedTopK` holds each listed user's top-K (item, score) and
ranks them like any model (seen items and the request's filters applied; a list cut short by filters is
filled by the server with what is popular). Everything that is not a listed user's list — users without a
row, "more like this", recent-item profiles and the explanations ("because you bought X") — comes from the
model that computed the table (``base_``), saved beside it, so a precomputed version is explained exactly as
the model it came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopsense.recommend.base import Recommender, UnsupportedRequest
from shopsense.recommend.dataset import InteractionDataset

BASE_DIR = "base"


class PrecomputedTopK(Recommender):
    """Each listed user's precomputed top-K, with the model that computed it for everything else."""

    name = "precomputed"
    supports_fold_in_users = False  # a new interaction would not change a stored list: retrain instead

    def __init__(self, k: int = 10) -> None:
        self.k = k

    @classmethod
    def from_table(cls, base: Recommender, table: pd.DataFrame) -> PrecomputedTopK:
        """From ``user_id, item_id, score`` rows (``rank`` optional) of users and items ``base`` knows."""
        ds = base._check_fitted()
        missing = [c for c in ("user_id", "item_id", "score") if c not in table.columns]
        if missing:
            raise ValueError(f"precomputed recommendations: missing column(s) {missing}; "
                             f"the table has {list(table.columns)}")
        users = table["user_id"].astype(str).map(ds.user_index)
        items = table["item_id"].astype(str).map(ds.item_index)
        for label, index, col in (("user", users, "user_id"), ("item", items, "item_id")):
            unknown = table.loc[index.isna(), col].astype(str).unique()
            if len(unknown):
                raise ValueError(f"precomputed recommendations name {len(unknown)} {label}(s) the model was not "
                                 f"trained on (first: {list(unknown[:5])}): score with the model you publish")
        scores = pd.to_numeric(table["score"], errors="coerce").to_numpy(np.float64)
        if not np.isfinite(scores).all():
            raise ValueError("precomputed recommendations: every score must be a finite number")
        per_user = np.bincount(users.to_numpy(np.int64), minlength=ds.n_users)
        model = cls(k=int(per_user.max()) if len(per_user) else 0)
        model.dataset_ = ds
        model.base_ = base
        model.table_ = sp.csr_matrix((scores, (users.to_numpy(np.int64), items.to_numpy(np.int64))),
                                     shape=(ds.n_users, ds.n_items))
        model.table_.sum_duplicates()
        model.fit_time_ = getattr(base, "fit_time_", float("nan"))
        return model

    def _fit(self, dataset: InteractionDataset) -> None:
        raise UnsupportedRequest("PrecomputedTopK is built from a table of scores (from_table), not fitted")

    @property
    def refit_as(self) -> str:
        """The model a retrain fits in this version's place (a stored list cannot take new events)."""
        return self.base_.name

    def listed(self, user_index: int) -> bool:
        """Whether the table holds a list for this user."""
        return self.table_.indptr[user_index + 1] > self.table_.indptr[user_index]

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        """A listed user's stored scores (every other item ``-inf``); the base model's scores otherwise."""
        user_indices = np.asarray(user_indices, dtype=np.int64)
        out = np.full((len(user_indices), self.dataset_.n_items), -np.inf)
        unlisted = [n for n, u in enumerate(user_indices) if not self.listed(int(u))]
        if unlisted:
            out[unlisted] = self.base_.score_users(user_indices[unlisted])
        for n, u in enumerate(user_indices):
            row = self.table_[int(u)]
            if row.nnz:
                out[n, row.indices] = row.data
        return out

    def _score_rows(self, rows: sp.csr_matrix) -> np.ndarray:
        return self.base_._score_rows(rows)

    def score_profile(self, profile: Any) -> np.ndarray:
        return self.base_.score_profile(profile)

    def item_similarity(self, item_index: int) -> np.ndarray:
        return self.base_.item_similarity(item_index)

    def _get_state(self) -> dict[str, Any]:
        return {"table": self.table_}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.table_ = sp.csr_matrix(state["table"])

    def _save_extra(self, directory: Path) -> None:
        self.base_.save(directory / BASE_DIR)

    def _load_extra(self, directory: Path) -> None:
        self.base_ = Recommender.load(directory / BASE_DIR)
        self.base_.dataset_ = self.dataset_
