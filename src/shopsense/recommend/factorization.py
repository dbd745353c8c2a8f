"""Matrix factorisation with ``implicit``: ALS (Hu, Koren & Volinsky 2008) and BPR (Rendle et al. 2009)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from shopsense.recommend.base import Recommender
from shopsense.recommend.dataset import InteractionDataset

_MAX_PAIRS = 2_000_000


def solve_factors(other: np.ndarray, rows: sp.csr_matrix, regularization: float, alpha: float) -> np.ndarray:
    """Exact implicit-ALS least squares for each row of ``rows`` given the other side's factors.

    Confidence ``c = alpha * weight`` on observed entries and 1 elsewhere (``implicit``'s convention):
    ``x = (Y^T Y + reg I + sum_i (c_i - 1) y_i y_i^T)^-1 sum_i c_i y_i``.
    """
    y = other.astype(np.float64)
    f = y.shape[1]
    base = y.T @ y + regularization * np.eye(f)
    out = np.zeros((rows.shape[0], f), dtype=np.float32)
    for r in range(rows.shape[0]):
        lo, hi = rows.indptr[r], rows.indptr[r + 1]
        if lo == hi:
            continue
        yi = y[rows.indices[lo:hi]]
        c = alpha * rows.data[lo:hi].astype(np.float64)
        a = base + (yi * (c - 1.0)[:, None]).T @ yi
        out[r] = np.linalg.solve(a, yi.T @ c)
    return out


class _Factorization(Recommender):
    """Shared scoring, fold-in and persistence for models with user and item factor matrices."""

    supports_fold_in_items = True
    # Confidence weight and ridge used to place a new user or item against the fixed other side.
    _fold_alpha: float = 1.0
    _fold_reg: float = 0.01

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return self.user_factors_[np.asarray(user_indices, dtype=np.int64)] @ self.item_factors_.T

    def _user_vectors(self, rows: sp.csr_matrix) -> np.ndarray:
        return solve_factors(self._item_side(), rows, self._fold_reg, self._fold_alpha)

    def _item_side(self) -> np.ndarray:
        return self.item_factors_

    def _score_rows(self, rows: sp.csr_matrix) -> np.ndarray:
        return self._user_vectors(rows) @ self.item_factors_.T

    def item_similarity(self, item_index: int) -> np.ndarray:
        f = self._item_side()
        norms = np.linalg.norm(f, axis=1)
        norms[norms == 0] = 1.0
        return (f @ f[item_index]) / (norms * norms[item_index])

    def _grow(self, n_users: int, n_items: int) -> None:
        f_u, f_i = self.user_factors_.shape[1], self.item_factors_.shape[1]
        if n_users > len(self.user_factors_):
            self.user_factors_ = np.vstack([self.user_factors_,
                                            np.zeros((n_users - len(self.user_factors_), f_u), np.float32)])
        if n_items > len(self.item_factors_):
            self.item_factors_ = np.vstack([self.item_factors_,
                                            np.zeros((n_items - len(self.item_factors_), f_i), np.float32)])

    def _place_users(self, dataset: InteractionDataset, user_indices: np.ndarray) -> None:
        self._grow(dataset.n_users, dataset.n_items)
        if len(user_indices):
            self.user_factors_[user_indices] = self._user_vectors(dataset.matrix[user_indices])

    def _fold_in_users(self, dataset: InteractionDataset, user_indices: np.ndarray) -> None:
        self._place_users(dataset, user_indices)

    def _fold_in_items(self, dataset: InteractionDataset, item_indices: np.ndarray) -> None:
        old_users, old_items = len(self.user_factors_), len(self.item_factors_)
        self._grow(dataset.n_users, dataset.n_items)
        new_users = np.arange(old_users, dataset.n_users)
        if len(new_users):  # place new users from the items already known, then the items from all users
            self.user_factors_[new_users] = self._user_vectors(dataset.matrix[new_users][:, :old_items])
        # Against the full user vectors: for BPR their constant-1 column makes this learn the item bias too.
        item_rows = dataset.matrix.T.tocsr()[item_indices]
        self.item_factors_[item_indices] = solve_factors(self.user_factors_, item_rows, self._fold_reg,
                                                         self._fold_alpha)

    def _get_state(self) -> dict[str, Any]:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.user_factors_ = np.asarray(state["user_factors"], dtype=np.float32)
        self.item_factors_ = np.asarray(state["item_factors"], dtype=np.float32)


class ALS(_Factorization):
    """Implicit-feedback ALS: confidence ``alpha * weight`` on observed pairs, weighted ridge factorisation.

    ``alpha`` (the confidence weight) and ``regularization`` must be tuned. Fold-in solves the exact
    least-squares step for new users (given item factors) or new items (given user factors), as one
    more half-iteration of ALS would; existing factors are unchanged.
    """

    name = "als"

    def __init__(self, factors: int = 64, regularization: float = 0.05, alpha: float = 10.0,
                 iterations: int = 15, random_state: int = 42, num_threads: int = 2) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads

    @property
    def _fold_alpha(self) -> float:  # type: ignore[override]
        return float(self.alpha)

    @property
    def _fold_reg(self) -> float:  # type: ignore[override]
        return float(self.regularization)

    def _fit(self, dataset: InteractionDataset) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        # implicit runs its own threads; BLAS threads on top of them only contend for the 2 cores.
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(factors=self.factors, regularization=self.regularization,
                                            alpha=self.alpha, iterations=self.iterations,
                                            random_state=self.random_state, num_threads=self.num_threads,
                                            calculate_training_loss=False)
            model.fit(dataset.matrix.astype(np.float32), show_progress=False)
        self.user_factors_ = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)


class BPR(_Factorization):
    """Bayesian Personalised Ranking (pairwise SGD on sampled negatives) via ``implicit``; binary input.

    ``implicit`` appends a bias: item factors end with the item bias, user factors with a constant 1.
    Fold-in places a new user by minimising BPR's own loss for that user with item factors fixed
    (L-BFGS); a new item by ridge least squares against the user factors, bias included (an approximation).
    ``num_threads=1`` by default because multi-threaded BPR updates race and are not reproducible.
    """

    name = "bpr"
    _fold_alpha = 2.0
    _fold_reg = 0.01

    def __init__(self, factors: int = 64, learning_rate: float = 0.05, regularization: float = 0.01,
                 iterations: int = 100, random_state: int = 42, num_threads: int = 1) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads

    def _fit(self, dataset: InteractionDataset) -> None:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        model = BayesianPersonalizedRanking(factors=self.factors, learning_rate=self.learning_rate,
                                            regularization=self.regularization, iterations=self.iterations,
                                            random_state=self.random_state, num_threads=self.num_threads)
        x = dataset.matrix.astype(np.float32)
        x.data[:] = 1.0
        with threadpool_limits(1, "blas"):
            model.fit(x, show_progress=False)
        self.user_factors_ = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)

    # The last item column is a bias paired with a constant 1 in every user vector.
    def _item_side(self) -> np.ndarray:
        return self.item_factors_[:, :-1]

    def _user_vectors(self, rows: sp.csr_matrix) -> np.ndarray:
        # The BPR objective of one user with the item factors fixed is a smooth convex problem:
        # minimise -mean_{i in I_u, j not in I_u} log sigmoid(x_ui - x_uj) + reg/2 |v|^2, which is what
        # implicit's per-sample SGD optimises for that user. L-BFGS solves it in a few dozen steps.
        from scipy.optimize import minimize

        y = self.item_factors_[:, :-1].astype(np.float64)
        bias = self.item_factors_[:, -1].astype(np.float64)
        out = np.zeros((rows.shape[0], y.shape[1] + 1), dtype=np.float32)
        out[:, -1] = 1.0
        for r in range(rows.shape[0]):
            pos = rows.indices[rows.indptr[r]:rows.indptr[r + 1]]
            if len(pos) == 0:
                continue
            neg_mask = np.ones(len(y), dtype=bool)
            neg_mask[pos] = False
            neg = np.flatnonzero(neg_mask)
            if len(neg) == 0:
                continue
            if len(pos) * len(neg) > _MAX_PAIRS:  # bound memory for heavy users: a seeded sample of negatives
                neg = np.sort(np.random.default_rng(r).choice(neg, _MAX_PAIRS // len(pos) + 1, replace=False))
            out[r, :-1] = minimize(_bpr_user_objective, np.zeros(y.shape[1]), jac=True, method="L-BFGS-B",
                                   args=(y[pos], bias[pos], y[neg], bias[neg], self.regularization),
                                   options={"maxiter": 200}).x
        return out


def _bpr_user_objective(v: np.ndarray, yp: np.ndarray, bp: np.ndarray, yn: np.ndarray, bn: np.ndarray,
                        reg: float) -> tuple[float, np.ndarray]:
    sp_ = yp @ v + bp                                   # scores of the positives
    sn = yn @ v + bn                                    # scores of the negatives
    x = sp_[:, None] - sn[None, :]
    loss = np.logaddexp(0.0, -x).mean() + 0.5 * reg * v @ v
    w = -0.5 * (1.0 - np.tanh(0.5 * x)) / x.size        # d loss / d x = -sigmoid(-x) / n_pairs
    grad = w.sum(axis=1) @ yp - w.sum(axis=0) @ yn + reg * v
    return float(loss), grad
