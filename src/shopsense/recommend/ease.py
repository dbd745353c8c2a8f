"""EASE (Steck, WWW 2019): a closed-form linear item-item autoencoder."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp

from shopsense.recommend.base import Recommender
from shopsense.recommend.dataset import InteractionDataset


def ease_weights(gram: np.ndarray, lambda_: float) -> np.ndarray:
    """``B = I - P / diag(P)`` with a zero diagonal, ``P = (G + lambda I)^-1``, from the float32 Gram matrix
    ``G = X^T X`` (overwritten). The one solve, shared by :class:`EASE` and the Spark job (``shopsense.scale``)."""
    gram[np.diag_indices_from(gram)] += np.float32(lambda_)
    # Cholesky-based inverse of the SPD Gram matrix: half the flops of an LU inverse, in place.
    c, info = la.lapack.spotrf(gram, lower=0, overwrite_a=1, clean=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE: Cholesky failed (info={info}); increase lambda_")
    p, info = la.lapack.spotri(c, lower=0, overwrite_c=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE: inverse failed (info={info})")
    p = np.triu(p) + np.triu(p, 1).T
    diag = np.diag(p).copy()
    p /= -diag[None, :]
    p[np.diag_indices_from(p)] = 0.0
    return p.astype(np.float32)


class EASE(Recommender):
    """Learns an item x item weight matrix ``B`` with zero diagonal: ``B = I - P / diag(P)``,
    ``P = (X^T X + lambda I)^-1``; ``score(u) = x_u B``. ``lambda_`` must be tuned (it is the only knob).

    Cost: a dense ``n x n`` float32 matrix and one Cholesky inverse (O(n^3)); 17k items need about
    1.2 GB and a minute or two on 2 cores. ``max_items`` caps the model to the most popular items
    (the others get zero scores) when a catalog is too large for that.

    Fold-in: new users are scored from their items with no refit. New items get zero rows and columns
    (never recommended by EASE, and contributing nothing) until the next fit.
    """

    name = "ease"
    supports_fold_in_items = True

    def __init__(self, lambda_: float = 100.0, max_items: int | None = None, binary: bool = True) -> None:
        self.lambda_ = lambda_
        self.max_items = max_items
        self.binary = binary

    def _rows(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        rows = sp.csr_matrix(rows, dtype=np.float32, copy=True)
        if self.binary:
            rows.data[:] = 1.0
        return rows

    def _fit(self, dataset: InteractionDataset) -> None:
        if self.lambda_ <= 0:
            raise ValueError(f"EASE: lambda_ must be > 0, got {self.lambda_}")
        x = self._rows(dataset.matrix)
        pop = np.asarray(x.getnnz(axis=0))
        active = np.flatnonzero(pop > 0)
        if self.max_items is not None and len(active) > self.max_items:
            active = np.sort(active[np.argsort(-pop[active], kind="stable")[: self.max_items]])
        xa = x[:, active]
        self.active_ = active.astype(np.int64)
        self.weights_ = ease_weights((xa.T @ xa).toarray().astype(np.float32), self.lambda_)

    def _score_rows(self, rows: sp.csr_matrix) -> np.ndarray:
        n = rows.shape[0]
        out = np.zeros((n, rows.shape[1]), np.float32)
        xa = self._rows(rows)[:, self.active_]
        out[:, self.active_] = xa @ self.weights_
        return out

    def item_similarity(self, item_index: int) -> np.ndarray:
        out = np.zeros(self.dataset_.n_items, dtype=np.float32)
        pos = np.searchsorted(self.active_, item_index)
        if pos < len(self.active_) and self.active_[pos] == item_index:
            out[self.active_] = self.weights_[pos]
        return out

    def _fold_in_items(self, dataset: InteractionDataset, item_indices: np.ndarray) -> None:
        return None  # new indices lie outside ``active_``: zero rows and columns until refit

    def _get_state(self) -> dict[str, Any]:
        return {"active": self.active_, "weights": self.weights_}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.active_ = np.asarray(state["active"], dtype=np.int64)
        self.weights_ = np.asarray(state["weights"], dtype=np.float32)
