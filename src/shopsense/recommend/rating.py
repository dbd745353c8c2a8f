"""Rating prediction (the design's squared-error objective): how many stars would this user give this item?

Three models with one interface, ``fit(ratings, items_text) -> self`` and ``predict(user_ids, item_ids)``:

* :class:`GlobalMean` — the mean rating (the floor).
* :class:`BiasOnly` — mean + regularised user and item biases, fitted by alternating closed-form steps.
* :class:`RatingModel` — biases, latent factors (ALS on the bias residuals) and text features (how the
  item's text resembles items the user rated above/below their own average, the sentiment of the item's
  reviews and of the user's own review text), stacked by a LightGBM regressor trained on out-of-fold
  predictions, so no row's own rating or review text ever feeds its features.

``ratings`` has ``user_id, item_id, rating`` and optionally ``text`` (the user's review); ``items_text``
maps item ids to catalog text (title, category, description). Unknown users or items get the parts of
the prediction that exist (e.g. the item bias for a new user).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopsense.recommend.features import encode_texts, resolve_sentiment, score_sentiment

_FEATURES = ("bias", "mf", "log_n_user", "log_n_item", "user_std", "item_std", "item_sent", "user_sent",
             "knn_resid", "knn_max_sim", "profile_sim", "review_profile_sim", "review_ridge")


def _check_ratings(ratings: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("user_id", "item_id", "rating") if c not in ratings.columns]
    if missing:
        raise ValueError(f"ratings: missing column(s) {missing}; need user_id, item_id, rating")
    stars = pd.to_numeric(ratings["rating"], errors="coerce")
    bad = np.flatnonzero(stars.isna().to_numpy())
    if len(bad):
        raise ValueError(
            f"ratings: row {int(bad[0])}: rating {ratings['rating'].iloc[bad[0]]!r} is not a number"
        )
    out = pd.DataFrame(
        {
            "user_id": ratings["user_id"].astype(str).to_numpy(),
            "item_id": ratings["item_id"].astype(str).to_numpy(),
            "rating": stars.to_numpy(np.float64),
        }
    )
    text = ratings["text"] if "text" in ratings.columns else pd.Series([""] * len(ratings))
    out["text"] = text.fillna("").astype(str).to_numpy()
    return out


class _Indexed:
    """Id <-> index maps of the training users and items (shared by every rating model)."""

    def _index(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        self.user_index_ = {u: n for n, u in enumerate(pd.unique(df["user_id"]))}
        self.item_index_ = {i: n for n, i in enumerate(pd.unique(df["item_id"]))}
        return (
            df["user_id"].map(self.user_index_).to_numpy(np.int64),
            df["item_id"].map(self.item_index_).to_numpy(np.int64),
        )

    def _lookup(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        if len(user_ids) != len(item_ids):
            raise ValueError(f"predict: {len(user_ids)} user ids but {len(item_ids)} item ids")
        u = np.asarray([self.user_index_.get(str(x), -1) for x in user_ids], dtype=np.int64)
        i = np.asarray([self.item_index_.get(str(x), -1) for x in item_ids], dtype=np.int64)
        return u, i


class GlobalMean(_Indexed):
    """Predicts the training mean for every pair: the baseline every rating model must beat."""

    def fit(self, ratings: pd.DataFrame, items_text: Mapping[str, str] | None = None) -> Self:
        df = _check_ratings(ratings)
        self.mean_ = float(df["rating"].mean())
        return self

    def predict(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray:
        return np.full(len(user_ids), self.mean_, dtype=np.float64)


def _fit_biases(u: np.ndarray, i: np.ndarray, r: np.ndarray, n_users: int, n_items: int, reg_user: float,
                reg_item: float, n_iter: int) -> tuple[float, np.ndarray, np.ndarray]:
    mu = float(r.mean())
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    nu = np.bincount(u, minlength=n_users)
    ni = np.bincount(i, minlength=n_items)
    for _ in range(n_iter):
        bi = np.bincount(i, r - mu - bu[u], minlength=n_items) / (reg_item + ni)
        bu = np.bincount(u, r - mu - bi[i], minlength=n_users) / (reg_user + nu)
    return mu, bu, bi


class BiasOnly(_Indexed):
    """Mean + user bias + item bias, ridge-regularised (``reg_user``, ``reg_item``): the baseline to beat."""

    def __init__(self, reg_user: float = 5.0, reg_item: float = 5.0, n_iter: int = 15) -> None:
        self.reg_user = reg_user
        self.reg_item = reg_item
        self.n_iter = n_iter

    def fit(self, ratings: pd.DataFrame, items_text: Mapping[str, str] | None = None) -> Self:
        df = _check_ratings(ratings)
        u, i = self._index(df)
        self.mean_, self.user_bias_, self.item_bias_ = _fit_biases(u, i, df["rating"].to_numpy(),
                                                                   len(self.user_index_),
                                                                   len(self.item_index_), self.reg_user,
                                                                   self.reg_item, self.n_iter)
        return self

    def predict(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray:
        u, i = self._lookup(user_ids, item_ids)
        return (
            self.mean_ + np.where(u >= 0, self.user_bias_[u], 0.0) + np.where(i >= 0, self.item_bias_[i], 0.0)
        )


def _als_side(
    rows: np.ndarray, cols: np.ndarray, y: np.ndarray, other: np.ndarray, n_rows: int, reg: float
) -> np.ndarray:
    """Ridge solution for every row's factors given the other side's factors (all rows at once).

    Each row's Gram matrix is a sparse indicator times the flattened outer products of the other side.
    """
    k = other.shape[1]
    ind = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_rows, other.shape[0]))
    outer = (other[:, :, None] * other[:, None, :]).reshape(other.shape[0], k * k)
    gram = np.asarray(ind @ outer).reshape(n_rows, k, k) + reg * np.eye(k)
    rhs = np.zeros((n_rows, k))
    for d in range(k):
        rhs[:, d] = np.bincount(rows, y * other[cols, d], minlength=n_rows)
    return np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]


def _fit_factors(u: np.ndarray, i: np.ndarray, resid: np.ndarray, n_users: int, n_items: int, k: int,
                 reg: float, n_iter: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.normal(0.0, 0.1, (n_users, k))
    q = rng.normal(0.0, 0.1, (n_items, k))
    for _ in range(n_iter):
        p = _als_side(u, i, resid, q, n_users, reg)
        q = _als_side(i, u, resid, p, n_items, reg)
    return p, q


class _Known:
    """What the model knows from one set of training rows: biases, factors, text profiles."""

    def __init__(self, m: RatingModel, u: np.ndarray, i: np.ndarray, r: np.ndarray, sent: np.ndarray,
                 review_vecs: np.ndarray | None, n_users: int, n_items: int) -> None:
        self.mu, self.bu, self.bi = _fit_biases(u, i, r, n_users, n_items, m.reg_user, m.reg_item, 15)
        resid = r - (self.mu + self.bu[u] + self.bi[i])
        self.p, self.q = (
            _fit_factors(u, i, resid, n_users, n_items, m.n_factors, m.reg_factors, m.n_iter, m.seed)
            if m.n_factors > 0
            else (None, None)
        )
        self.u, self.i, self.resid = u, i, resid
        nu, ni = np.bincount(u, minlength=n_users), np.bincount(i, minlength=n_items)
        self.log_nu, self.log_ni = np.log1p(nu), np.log1p(ni)
        self.user_std = _group_std(u, r, n_users)
        self.item_std = _group_std(i, r, n_items)
        has = ~np.isnan(sent)
        self.item_sent = _group_mean(i[has], sent[has], n_items)
        self.user_sent = _group_mean(u[has], sent[has], n_users)
        self.by_user = pd.Series(np.arange(len(u))).groupby(u).apply(np.asarray).to_dict()
        self.review_profile = self.ridge = None
        if review_vecs is not None:
            prof = np.zeros((n_users, review_vecs.shape[1]))
            np.add.at(prof, u, review_vecs * resid[:, None])
            self.review_profile = prof
            self._fit_review_ridge(m, u, i, resid, review_vecs, n_users, n_items)

    def _fit_review_ridge(self, m: RatingModel, u: np.ndarray, i: np.ndarray, resid: np.ndarray,
                          vecs: np.ndarray, n_users: int, n_items: int) -> None:
        """A ridge regression of the residual on how the user writes x what is written about the item.

        Trained with leave-one-out means (a row's own review never describes its own user or item), so
        that training rows look like the pairs it will score, whose review does not exist yet.
        """
        from sklearn.linear_model import Ridge

        has = vecs.any(axis=1).astype(np.float64)
        self.user_text, self.item_text = (
            np.zeros((n_users, vecs.shape[1])),
            np.zeros((n_items, vecs.shape[1])),
        )
        np.add.at(self.user_text, u, vecs)
        np.add.at(self.item_text, i, vecs)
        cu, ci = np.bincount(u, has, minlength=n_users), np.bincount(i, has, minlength=n_items)
        loo_u = (self.user_text[u] - vecs) / np.maximum(cu[u] - has, 1.0)[:, None]
        loo_i = (self.item_text[i] - vecs) / np.maximum(ci[i] - has, 1.0)[:, None]
        self.user_text /= np.maximum(cu, 1.0)[:, None]
        self.item_text /= np.maximum(ci, 1.0)[:, None]
        if has.sum() >= 20:
            self.ridge = Ridge(alpha=m.text_ridge).fit(np.hstack([loo_u, loo_i, loo_u * loo_i]), resid)

    def features(
        self, m: RatingModel, pu: np.ndarray, pi: np.ndarray, item_vecs: np.ndarray | None
    ) -> np.ndarray:
        known_u, known_i = pu >= 0, pi >= 0
        su, si = np.where(known_u, pu, 0), np.where(known_i, pi, 0)
        bias = self.mu + np.where(known_u, self.bu[su], 0.0) + np.where(known_i, self.bi[si], 0.0)
        mf = np.zeros(len(pu))
        if self.p is not None:
            mf = np.where(known_u & known_i, np.einsum("nk,nk->n", self.p[su], self.q[si]), 0.0)
        nan = np.full(len(pu), np.nan)
        x = np.column_stack(
            [bias, mf, np.where(known_u, self.log_nu[su], 0.0), np.where(known_i, self.log_ni[si], 0.0),
             np.where(known_u, self.user_std[su], np.nan), np.where(known_i, self.item_std[si], np.nan),
             np.where(known_i, self.item_sent[si], np.nan), np.where(known_u, self.user_sent[su], np.nan),
             nan, nan, nan, nan, nan]
        )
        if item_vecs is not None:
            self._text_features(m, x, pu, pi, item_vecs)
        if self.ridge is not None:
            uv = np.where(known_u[:, None], self.user_text[su], 0.0)
            iv = np.where(known_i[:, None], self.item_text[si], 0.0)
            x[:, 12] = self.ridge.predict(np.hstack([uv, iv, uv * iv]))
        return x

    def _text_features(
        self, m: RatingModel, x: np.ndarray, pu: np.ndarray, pi: np.ndarray, item_vecs: np.ndarray
    ) -> None:
        # For every pair: the user's residuals on their most text-similar rated items (a content kNN),
        # and the similarity of the item to the user's liked-minus-disliked text profiles.
        pairs = pd.Series(np.arange(len(pu))).groupby(pu).apply(np.asarray).to_dict()
        for user, rows in pairs.items():
            hist = self.by_user.get(int(user))
            if user < 0 or hist is None:
                continue
            items = pi[rows]
            ok = items >= 0
            rows, items = rows[ok], items[ok]
            if len(rows) == 0:
                continue
            cand = item_vecs[items]
            sims = cand @ item_vecs[self.i[hist]].T
            kk = min(m.knn, sims.shape[1])
            top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
            s = np.take_along_axis(sims, top, axis=1)
            w = np.maximum(s, 0.0) ** 2
            res = self.resid[hist][top]
            x[rows, 8] = np.where(w.sum(1) > 0, (w * res).sum(1) / np.maximum(w.sum(1), 1e-9), 0.0)
            x[rows, 9] = s.max(axis=1)
            prof = (item_vecs[self.i[hist]] * self.resid[hist][:, None]).sum(0)
            x[rows, 10] = cand @ prof / max(float(np.linalg.norm(prof)), 1e-9)
            if self.review_profile is not None:
                rp = self.review_profile[user]
                x[rows, 11] = cand @ rp / max(float(np.linalg.norm(rp)), 1e-9)


def _group_mean(idx: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    cnt = np.bincount(idx, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, np.bincount(idx, v, minlength=n) / np.maximum(cnt, 1), np.nan)


def _group_std(idx: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    mean = _group_mean(idx, v, n)
    var = _group_mean(idx, (v - np.nan_to_num(mean)[idx]) ** 2, n)
    return np.sqrt(var)


class RatingModel(_Indexed):
    """Biases + ALS factors + text features, stacked by a LightGBM regressor on out-of-fold features.

    Hyperparameters: ``reg_user``/``reg_item`` (bias ridge), ``n_factors``/``reg_factors``/``n_iter`` (ALS on
    the bias residuals; 0 factors disables them), ``knn`` (neighbours of the text kNN feature),
    ``n_folds`` (out-of-fold stacking), LightGBM ``n_estimators``/``learning_rate``/``num_leaves``/
    ``min_child_samples``, ``use_text`` (False gives a biases + factors model), the encoder and sentiment.
    """

    def __init__(self, reg_user: float = 5.0, reg_item: float = 5.0, n_factors: int = 16,
                 reg_factors: float = 10.0, n_iter: int = 10, knn: int = 10, n_folds: int = 5,
                 n_estimators: int = 600, learning_rate: float = 0.03, num_leaves: int = 7,
                 min_child_samples: int = 100, early_stopping_rounds: int = 30, text_ridge: float = 30.0,
                 use_text: bool = True, encoder_backend: str = "onnx", cache_dir: str | None = None,
                 sentiment: str = "lexicon", seed: int = 42) -> None:
        self.reg_user = reg_user
        self.reg_item = reg_item
        self.n_factors = n_factors
        self.reg_factors = reg_factors
        self.n_iter = n_iter
        self.knn = knn
        self.n_folds = n_folds
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.early_stopping_rounds = early_stopping_rounds
        self.text_ridge = text_ridge
        self.use_text = use_text
        self.encoder_backend = encoder_backend
        self.cache_dir = cache_dir
        self.sentiment = sentiment
        self.seed = seed

    def _item_vectors(self, items_text: Mapping[str, str] | None, df: pd.DataFrame, i: np.ndarray,
                      review_vecs: np.ndarray | None) -> np.ndarray:
        catalog = [(items_text or {}).get(item, "") for item in self.item_index_]
        vecs = encode_texts(catalog, self.encoder_backend, self.cache_dir).astype(np.float64)
        if review_vecs is not None:
            # Reviews complete the item text (stores such as Musical Instruments have no titles); they
            # come from training rows only, and the mean over all of an item's reviews is used.
            acc = np.zeros_like(vecs)
            np.add.at(acc, i, review_vecs)
            vecs = vecs + acc / np.maximum(np.linalg.norm(acc, axis=1, keepdims=True), 1e-9)
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)

    def _regressor(self, n_estimators: int):
        import lightgbm as lgb

        return lgb.LGBMRegressor(n_estimators=n_estimators, learning_rate=self.learning_rate,
                                 num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
                                 subsample=0.8, subsample_freq=1, colsample_bytree=0.8, reg_lambda=1.0,
                                 random_state=self.seed, n_jobs=1, deterministic=True, force_col_wise=True,
                                 verbose=-1)

    def fit(self, ratings: pd.DataFrame, items_text: Mapping[str, str] | None = None) -> Self:
        import lightgbm as lgb

        df = _check_ratings(ratings)
        if len(df) < 2 * self.n_folds:
            raise ValueError(f"ratings: {len(df)} rows are too few for {self.n_folds}-fold stacking")
        u, i = self._index(df)
        n_users, n_items = len(self.user_index_), len(self.item_index_)
        r = df["rating"].to_numpy()
        self.min_rating_, self.max_rating_ = float(r.min()), float(r.max())
        has_text = df["text"].str.strip().to_numpy() != ""
        sent = np.full(len(df), np.nan)
        review_vecs = None
        item_vecs = None
        if self.use_text:
            sent[has_text] = score_sentiment(resolve_sentiment(self.sentiment), df["text"][has_text].tolist())
            if has_text.any():
                review_vecs = encode_texts(df["text"].tolist(), self.encoder_backend, self.cache_dir).astype(
                    np.float64
                )
        rng = np.random.default_rng(self.seed)
        fold = rng.permutation(len(df)) % self.n_folds
        self.folds_: list[tuple[_Known, np.ndarray | None]] = []
        x_oof = np.zeros((len(df), len(_FEATURES)))
        for f in range(self.n_folds):
            tr, te = fold != f, fold == f
            rv = review_vecs[tr] if review_vecs is not None else None
            if self.use_text:
                item_vecs = self._item_vectors(items_text, df, i[tr], rv)
            known = _Known(self, u[tr], i[tr], r[tr], sent[tr], rv, n_users, n_items)
            x_oof[te] = known.features(self, u[te], i[te], item_vecs)
            self.folds_.append((known, item_vecs))
        frame = pd.DataFrame(x_oof, columns=list(_FEATURES))
        target = r - x_oof[:, 0]
        # Early stopping on a seeded fifth of the out-of-fold rows picks the number of trees (possibly very
        # few: then the model stays close to the biases), and the final regressor is refitted on all rows.
        hold = rng.random(len(df)) < 0.2
        probe = self._regressor(self.n_estimators).fit(
            frame[~hold],
            target[~hold],
            eval_X=(frame[hold],), eval_y=(target[hold],),
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )
        self.n_trees_ = max(1, int(probe.best_iteration_ or self.n_estimators))
        # How far to trust the residual model: the least-squares shrinkage on the held-out rows, in [0, 1].
        p = probe.predict(frame[hold])
        self.shrink_ = float(np.clip(np.dot(p, target[hold]) / max(float(np.dot(p, p)), 1e-12), 0.0, 1.0))
        self.regressor_ = self._regressor(self.n_trees_).fit(frame, target)
        return self

    def predict(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray:
        # Cross-fitted: each fold's models (fitted on the other folds) give features exactly like the ones
        # the regressor was trained on; their predictions are averaged.
        u, i = self._lookup(user_ids, item_ids)
        pred = np.zeros(len(u))
        for known, item_vecs in self.folds_:
            x = known.features(self, u, i, item_vecs)
            pred += x[:, 0] + self.shrink_ * self.regressor_.predict(pd.DataFrame(x, columns=list(_FEATURES)))
        return np.clip(pred / len(self.folds_), self.min_rating_, self.max_rating_)

    def feature_importance(self) -> dict[str, float]:
        """Gain of each stacked feature (which evidence the regressor actually uses)."""
        gain = self.regressor_.booster_.feature_importance(importance_type="gain")
        return {name: float(g) for name, g in zip(_FEATURES, gain, strict=True)}


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((np.asarray(y_true, float) - np.asarray(y_pred, float)) ** 2)))


__all__ = ["BiasOnly", "GlobalMean", "RatingModel", "rmse"]
