"""Item-based k-nearest-neighbours with shrunk (asymmetric) cosine similarity."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from shopsense.recommend.base import Recommender
from shopsense.recommend.dataset import InteractionDataset

_BLOCK_BYTES = 256 * 1024 * 1024  # dense co-occurrence block size: bounds peak memory on big catalogs


def _break_ties(sim: np.ndarray, top: np.ndarray, vals: np.ndarray) -> None:
    """Make each row's top-k exact and deterministic: where the k-th similarity ties with neighbours left
    out, the tie goes to the smaller item index (as in :func:`~shopsense.recommend.filters.top_k`), not to
    wherever ``argpartition`` split it. Zero similarities are dropped later, so only positive ties count."""
    k = top.shape[1]
    kth = vals.min(axis=1)
    for r in np.flatnonzero((kth > 0) & ((sim >= kth[:, None]).sum(axis=1) > k)):
        cand = np.flatnonzero(sim[r] >= kth[r])
        top[r] = cand[np.lexsort((cand, -sim[r, cand]))[:k]]
        vals[r] = sim[r, top[r]]


class ItemKNN(Recommender):
    """Scores an item by the summed similarity of its nearest neighbours among the user's items.

    ``sim(i, j) = (x_i . x_j) / (|x_i|^(2*alpha) * |x_j|^(2*(1-alpha)) + shrinkage)`` over the columns of
    the (optionally binarised) user x item matrix; ``alpha=0.5`` is cosine, the ``shrinkage`` term damps
    similarities supported by few co-occurrences (the strong-baseline setting of Dacrema et al. 2019).
    Each target item keeps its ``k_neighbors`` most similar items;
    ``score(u, j) = sum_{i in u} w_ui sim(i, j)``.

    Fold-in: a new user is scored from their items (no refit). New items get exact similarity columns
    and rows (other items' neighbour lists are recomputed where the new item co-occurs with them). New
    users' interactions do not change existing similarities until the next fit.
    """

    name = "itemknn"
    supports_fold_in_items = True

    def __init__(self, k_neighbors: int = 100, shrinkage: float = 10.0, alpha: float = 0.5,
                 binary: bool = True) -> None:
        self.k_neighbors = k_neighbors
        self.shrinkage = shrinkage
        self.alpha = alpha
        self.binary = binary

    def _input(self, ds: InteractionDataset) -> sp.csc_matrix:
        x = ds.matrix.astype(np.float32)
        if self.binary:
            x = x.copy()
            x.data[:] = 1.0
        return x.tocsc()

    def _similarity_columns(self, x: sp.csc_matrix, columns: np.ndarray) -> sp.csc_matrix:
        """``S[:, columns]`` (n_items x len(columns)), each column pruned to its top-k neighbours."""
        n_items = x.shape[1]
        norms2 = np.asarray(x.multiply(x).sum(axis=0)).ravel().astype(np.float32)
        left = np.power(norms2, np.float32(self.alpha))           # |x_i|^(2 alpha), i = neighbour
        right = np.power(norms2, np.float32(1.0 - self.alpha))    # |x_j|^(2 (1 - alpha)), j = target
        xt = x.T.tocsr()
        xr = x.tocsr()
        # Small matrices: dense BLAS beats a sparse product that is then densified anyway.
        dense = x.shape[0] * n_items * 4 <= _BLOCK_BYTES
        if dense:
            xd = xr.toarray()
            xtd = np.ascontiguousarray(xd.T)
        block = max(1, int(_BLOCK_BYTES // (4 * max(n_items, 1))))
        k = min(self.k_neighbors, n_items)
        shrink = np.float32(self.shrinkage + 1e-12)
        data, rows, cols = [], [], []
        for start in range(0, len(columns), block):
            cb = columns[start:start + block]
            # co-occurrence counts, one row per target item (contiguous rows for the top-k below)
            sim = xtd[cb] @ xd if dense else (xt[cb] @ xr).toarray().astype(np.float32, copy=False)
            denom = np.multiply.outer(right[cb], left)
            denom += shrink
            sim /= denom
            del denom
            sim[np.arange(len(cb)), cb] = 0.0                                  # not its own neighbour
            if k <= 0:
                continue
            np.negative(sim, out=sim)  # argpartition is fastest with a small kth
            top = np.argpartition(sim, k - 1, axis=1)[:, :k]
            np.negative(sim, out=sim)
            vals = np.take_along_axis(sim, top, axis=1)
            _break_ties(sim, top, vals)
            keep = vals > 0
            data.append(vals[keep])
            rows.append(top[keep])
            cols.append(np.broadcast_to(np.arange(start, start + len(cb))[:, None], top.shape)[keep])
        if not data:
            return sp.csc_matrix((n_items, len(columns)), dtype=np.float32)
        return sp.csc_matrix((np.concatenate(data).astype(np.float32),
                              (np.concatenate(rows), np.concatenate(cols))), shape=(n_items, len(columns)))

    def _fit(self, dataset: InteractionDataset) -> None:
        if self.k_neighbors < 1 or self.shrinkage < 0 or not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"ItemKNN: need k_neighbors >= 1, shrinkage >= 0, 0 <= alpha <= 1; got "
                             f"{self.k_neighbors}, {self.shrinkage}, {self.alpha}")
        x = self._input(dataset)
        self.similarity_ = self._similarity_columns(x, np.arange(dataset.n_items)).tocsr()

    def _user_rows(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        if self.binary:
            rows = rows.copy()
            rows.data[:] = 1.0
        return rows

    def _score_rows(self, rows: sp.csr_matrix) -> np.ndarray:
        return (self._user_rows(rows) @ self.similarity_).toarray()

    def item_similarity(self, item_index: int) -> np.ndarray:
        return self.similarity_[item_index].toarray().ravel()

    def _fold_in_items(self, dataset: InteractionDataset, item_indices: np.ndarray) -> None:
        x = self._input(dataset)
        n_new = dataset.n_items
        old = self.similarity_.tocsc()
        old.resize((n_new, n_new))
        # Columns whose neighbour lists may change: the new items and every item co-occurring with them.
        users = np.unique(x[:, item_indices].tocoo().row)
        touched = np.unique(np.concatenate([item_indices, sp.csr_matrix(dataset.matrix[users]).indices]))
        fresh = self._similarity_columns(x, touched)
        keep = np.ones(n_new, dtype=bool)
        keep[touched] = False
        sim = old @ sp.diags(keep.astype(np.float32))           # drop stale columns, keep the rest
        patch = sp.csc_matrix((fresh.data, fresh.indices, fresh.indptr), shape=(n_new, len(touched)))
        scatter = sp.csr_matrix((np.ones(len(touched), np.float32), (np.arange(len(touched)), touched)),
                                shape=(len(touched), n_new))
        placed = patch @ scatter
        self.similarity_ = (sim + placed).tocsr()
        self.similarity_.eliminate_zeros()

    def _get_state(self) -> dict[str, Any]:
        return {"similarity": self.similarity_}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.similarity_ = sp.csr_matrix(state["similarity"], dtype=np.float32)
