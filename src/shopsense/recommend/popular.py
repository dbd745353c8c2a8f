"""Most-popular baseline with optional exponential time decay."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from shopsense.recommend.base import Recommender
from shopsense.recommend.dataset import InteractionDataset

_DAY = 86_400.0


class MostPopular(Recommender):
    """Recommends what most users interacted with recently: the floor every other model must beat.

    Each interaction counts ``weight * 0.5 ** (age_days / half_life_days)``, where the age is measured
    from the newest interaction in the data (``half_life_days=None``: plain weighted counts). Every user
    gets the same list (minus what they have seen); ``similar_items`` is the same list too.
    Folding in users or items adds their interactions to the counts (decayed against the same reference
    time, so a fold-in never makes older items fade).
    """

    name = "popular"
    supports_fold_in_items = True

    def __init__(self, half_life_days: float | None = None) -> None:
        self.half_life_days = half_life_days

    def _counts(self, ds: InteractionDataset, ref_time: float) -> np.ndarray:
        inter = ds.interactions
        w = inter["weight"].to_numpy(np.float64)
        if self.half_life_days is not None and len(inter):
            if self.half_life_days <= 0:
                raise ValueError(f"half_life_days must be > 0, got {self.half_life_days}")
            ts = inter["timestamp"].to_numpy(np.float64)
            age_days = np.clip(ref_time - np.nan_to_num(ts, nan=ref_time), 0.0, None) / _DAY
            w = w * np.power(0.5, age_days / self.half_life_days)
        return np.bincount(inter["item_idx"].to_numpy(np.int64), weights=w, minlength=ds.n_items)

    def _fit(self, dataset: InteractionDataset) -> None:
        ts = dataset.interactions["timestamp"].to_numpy(np.float64)
        self.reference_time_ = float(np.nanmax(ts)) if len(ts) and np.isfinite(ts).any() else 0.0
        self.item_scores_ = self._counts(dataset, self.reference_time_)

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.item_scores_, (len(user_indices), len(self.item_scores_)))

    def _score_rows(self, rows: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.item_scores_, (rows.shape[0], len(self.item_scores_)))

    def item_similarity(self, item_index: int) -> np.ndarray:
        return self.item_scores_

    def _fold_in_users(self, dataset: InteractionDataset, user_indices: np.ndarray) -> None:
        self.item_scores_ = self._counts(dataset, self.reference_time_)

    def _fold_in_items(self, dataset: InteractionDataset, item_indices: np.ndarray) -> None:
        self.item_scores_ = self._counts(dataset, self.reference_time_)

    def _get_state(self) -> dict[str, Any]:
        return {"item_scores": self.item_scores_, "reference_time": np.asarray(self.reference_time_)}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.item_scores_ = np.asarray(state["item_scores"], dtype=np.float64)
        self.reference_time_ = float(state["reference_time"])
