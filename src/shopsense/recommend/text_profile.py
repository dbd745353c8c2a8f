"""The text-profile recommender: items and users in the sentence encoder's space.

* Item vector: the encoding of its catalog text (title, category, brand, description) plus, when
  ``use_review_text``, ``review_weight`` times the mean encoding of its *training* reviews; centred on the
  mean item (``center``) and of unit length. An item without reviews of its own (a cold item, an item
  folded in later) gets a stand-in review part from the reviews of the ``knn`` items with the most
  similar catalog text (and from its buyers' profiles, if it has buyers), so it lives in the same space
  as the others; its own held-out review text is never used.
* User vector: the sum of the item vectors of what the user interacted with, each weighted by a polarity
  in [-1, 1] taken from the stars (5 -> 1, 3 -> 0, 1 -> -1) blended with the sentiment of the user's own
  review text (``sentiment_weight``). A negative polarity pushes the profile *away* from the item
  (scaled by ``neg_weight``). Events without stars count by their event weight; ``recency_half_life``
  (days) fades old interactions; ``profile_mix`` adds the user's own review encodings (how they write).

This is the cold-start model: it can rank items nobody interacted with, answer a free-text query, and
fold in new items by encoding their text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopsense.recommend.base import Profile, Recommender
from shopsense.recommend.dataset import InteractionDataset
from shopsense.recommend.explain import ExplainingMixin
from shopsense.recommend.features import catalog_texts, encode_texts, resolve_sentiment, score_sentiment

_DAY = 86_400.0
_TIE_BREAK = 1e-6  # a whisper of popularity so users without a profile still get a sensible order


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def review_texts(reviews: pd.DataFrame) -> list[str]:
    """Review title and text joined (the title often carries the verdict)."""
    title = reviews["title"].fillna("").astype(str) if "title" in reviews.columns else ""
    text = reviews["text"].fillna("").astype(str)
    return [f"{a}. {b}".strip(" .") if a else b for a, b in zip(title, text, strict=True)]


class TextProfile(ExplainingMixin, Recommender):
    """Content-based recommender over sentence embeddings of item text and the user's own reviews."""

    name = "text_profile"
    supports_fold_in_items = True
    supports_query = True
    supports_cold_items = True

    def __init__(self, use_review_text: bool = True, review_weight: float = 1.0, neg_weight: float = 0.5,
                 sentiment_weight: float = 0.3, recency_half_life: float | None = None,
                 profile_mix: float = 0.0, query_weight: float = 1.0, knn: int = 10, center: bool = True,
                 explain: bool = True, encoder_backend: str = "onnx", cache_dir: str | None = None,
                 sentiment: str = "lexicon") -> None:
        self.use_review_text = use_review_text
        self.review_weight = review_weight
        self.neg_weight = neg_weight
        self.sentiment_weight = sentiment_weight
        self.recency_half_life = recency_half_life
        self.profile_mix = profile_mix
        self.query_weight = query_weight
        self.knn = knn
        self.center = center
        self.explain = explain
        self.encoder_backend = encoder_backend
        self.cache_dir = cache_dir
        self.sentiment = sentiment

    # ------------------------------------------------------------------ fitting
    def _check_params(self) -> None:
        if self.review_weight < 0 or self.neg_weight < 0 or self.profile_mix < 0 or self.query_weight < 0:
            raise ValueError(
                "TextProfile: review_weight, neg_weight, profile_mix and query_weight must be >= 0"
            )
        if not 0.0 <= self.sentiment_weight <= 1.0:
            raise ValueError(f"TextProfile: sentiment_weight must be in [0, 1], got {self.sentiment_weight}")
        if self.recency_half_life is not None and self.recency_half_life <= 0:
            raise ValueError(f"TextProfile: recency_half_life must be > 0 days, got {self.recency_half_life}")

    def _encode(self, texts: list[str]) -> np.ndarray:
        return encode_texts(texts, self.encoder_backend, self.cache_dir)

    def _fit(self, dataset: InteractionDataset) -> None:
        self._check_params()
        self.catalog_vecs_ = self._encode(catalog_texts(dataset.items))
        reviews = dataset.reviews
        dim = self.catalog_vecs_.shape[1]
        review_vecs = np.zeros((len(reviews), dim), dtype=np.float32)
        review_sent = np.zeros(len(reviews))
        if len(reviews):
            texts = review_texts(reviews)
            if self.sentiment_weight > 0:
                review_sent = score_sentiment(resolve_sentiment(self.sentiment), texts)
            if self.use_review_text or self.profile_mix > 0:
                review_vecs = self._encode(texts)
        self.review_part_ = np.zeros((dataset.n_items, dim), dtype=np.float32)
        self.has_reviews_ = np.zeros(dataset.n_items, dtype=bool)
        if self.use_review_text and len(reviews):
            per_item = sp.csr_matrix(
                (np.ones(len(reviews)), (reviews["item_idx"], np.arange(len(reviews)))),
                shape=(dataset.n_items, len(reviews)),
            )
            self.review_part_ = unit_rows(per_item @ review_vecs)
            self.has_reviews_[reviews["item_idx"].to_numpy()] = True
        self.item_pop_ = np.log1p(dataset.item_popularity()).astype(np.float32)
        weights = self._weights(dataset, reviews, review_sent)
        missing = np.flatnonzero(~self.has_reviews_)
        self.review_part_[missing] = self._impute(self.catalog_vecs_[missing], None)
        self.center_ = np.zeros(dim, dtype=np.float32)
        if self.center:
            raw = unit_rows(unit_rows(self.catalog_vecs_) + self.review_weight * self.review_part_)
            nonzero = raw.any(axis=1)
            self.center_ = raw[nonzero].mean(axis=0) if nonzero.any() else self.center_
        self.item_vecs_ = self._combine(self.catalog_vecs_, self.review_part_)
        self.user_vecs_ = self._profiles(weights)
        # Items without reviews but with buyers borrow their buyers' profiles; users are then re-profiled.
        # Without review text, only items with no catalog text either do (the rest stay pure catalog text).
        borrow = missing if self.use_review_text else missing[~self.catalog_vecs_[missing].any(axis=1)]
        bought = borrow[np.diff(weights.tocsc().indptr)[borrow] > 0]
        if len(bought):
            buyers = np.maximum(weights[:, bought].T.toarray(), 0.0) @ self.user_vecs_.astype(np.float64)
            self.review_part_[bought] = self._impute(self.catalog_vecs_[bought], buyers)
            self.item_vecs_[bought] = self._combine(self.catalog_vecs_[bought], self.review_part_[bought])
            self.user_vecs_ = self._profiles(weights)
        if self.profile_mix > 0 and len(reviews):
            own = sp.csr_matrix(
                (
                    weights[reviews["user_idx"].to_numpy(), reviews["item_idx"].to_numpy()].A1,
                    (reviews["user_idx"], np.arange(len(reviews))),
                ),
                shape=(dataset.n_users, len(reviews)),
            )
            self.user_vecs_ = unit_rows(self.user_vecs_ + self.profile_mix * unit_rows(own @ review_vecs))

    def _combine(self, catalog: np.ndarray, review_part: np.ndarray) -> np.ndarray:
        # Centring removes the direction every item shares ("it is a gift card"), so that similarities,
        # and pushes away from disliked items, are about what sets items apart.
        raw = unit_rows(unit_rows(catalog) + self.review_weight * review_part)
        return np.where(raw.any(axis=1, keepdims=True), unit_rows(raw - self.center_), 0.0).astype(np.float32)

    def _impute(self, catalog: np.ndarray, buyers: np.ndarray | None) -> np.ndarray:
        """A review-like part for items without reviews, so that they live in the same space as the rest.

        From the reviews of the ``knn`` items with the most similar catalog text, plus (when given) the
        summed profiles of the item's buyers. Without reviews anywhere, only the buyers count.
        """
        out = np.zeros((len(catalog), catalog.shape[1]), dtype=np.float64)
        warm = np.flatnonzero(self.has_reviews_)
        if len(warm) and len(catalog):
            sims = unit_rows(catalog) @ unit_rows(self.catalog_vecs_[warm]).T
            k = min(self.knn, len(warm))
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            w = np.maximum(np.take_along_axis(sims, top, axis=1), 0.0)
            out = unit_rows(np.einsum("nk,nkd->nd", w, self.review_part_[warm][top].astype(np.float64)))
        if buyers is not None:
            out = out + unit_rows(buyers)
        return unit_rows(out)

    def _profiles(self, weights: sp.csr_matrix) -> np.ndarray:
        return unit_rows(weights @ self.item_vecs_.astype(np.float64))

    def _weights(
        self, ds: InteractionDataset, reviews: pd.DataFrame, review_sent: np.ndarray
    ) -> sp.csr_matrix:
        """(n_users, n_items) signed weights: polarity from stars and own-review sentiment, times recency."""
        inter = ds.interactions
        if len(inter) == 0:
            return sp.csr_matrix((ds.n_users, ds.n_items), dtype=np.float64)
        value = inter["value"].to_numpy(np.float64)
        has_stars = (inter["event"].to_numpy() == "rating") & ~np.isnan(value)
        polarity = np.where(
            has_stars, np.clip((value - 3.0) / 2.0, -1.0, 1.0), inter["weight"].to_numpy(np.float64)
        )
        frame = pd.DataFrame(
            {
                "u": inter["user_idx"].to_numpy(),
                "i": inter["item_idx"].to_numpy(),
                "p": polarity,
                "stars": has_stars,
                "ts": inter["timestamp"].to_numpy(np.float64),
            }
        )
        # One polarity per pair: the stars when the pair was rated, else its strongest event.
        frame = frame.sort_values(["u", "i", "stars", "p"], kind="stable").drop_duplicates(
            ["u", "i"], keep="last"
        )
        if self.sentiment_weight > 0 and len(reviews):
            sent = pd.Series(
                review_sent, index=pd.MultiIndex.from_arrays([reviews["user_idx"], reviews["item_idx"]])
            )
            sent = sent.groupby(level=[0, 1]).mean()
            key = pd.MultiIndex.from_arrays([frame["u"], frame["i"]])
            s = sent.reindex(key).to_numpy()
            has = ~np.isnan(s)
            p = frame["p"].to_numpy().copy()
            p[has] = (1.0 - self.sentiment_weight) * p[has] + self.sentiment_weight * s[has]
            frame["p"] = p
        w = np.where(frame["p"] >= 0, frame["p"], self.neg_weight * frame["p"])
        if self.recency_half_life is not None:
            ts = frame["ts"].to_numpy()
            last = frame.assign(ts=ts).groupby("u")["ts"].transform("max").to_numpy()
            age = np.nan_to_num((last - ts) / _DAY, nan=0.0).clip(0.0, None)
            w = w * np.power(0.5, age / self.recency_half_life)
        return sp.csr_matrix((w, (frame["u"], frame["i"])), shape=(ds.n_users, ds.n_items))

    # ------------------------------------------------------------------ scoring
    def _scores(self, users: np.ndarray) -> np.ndarray:
        pop = self.item_pop_ / max(1.0, float(self.item_pop_.max(initial=0.0)))
        return users @ self.item_vecs_.T + _TIE_BREAK * pop

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return self._scores(self.user_vecs_[np.asarray(user_indices, dtype=np.int64)])

    def _score_rows(self, rows: sp.csr_matrix) -> np.ndarray:
        return self._scores(self._profiles(rows.astype(np.float64)))

    def query_vector(self, query: str) -> np.ndarray:
        """The encoding of a free-text query (unit length)."""
        return self._encode([query])[0]

    def score_profile(self, profile: Profile) -> np.ndarray:
        vec = np.zeros((1, self.item_vecs_.shape[1]))
        if len(profile.item_indices):
            vec = self._profiles(profile.as_row(self.dataset_.n_items))
        if profile.query:
            q = unit_rows(self.query_vector(profile.query)[None, :] - self.center_)
            vec = vec + self.query_weight * q
        if not vec.any():
            return super().score_profile(profile)  # the base class says what is missing
        return self._scores(unit_rows(vec))[0]

    def item_similarity(self, item_index: int) -> np.ndarray:
        return self.item_vecs_ @ self.item_vecs_[item_index]

    # ------------------------------------------------------------------ fold-in
    def _fold_in_users(self, dataset: InteractionDataset, user_indices: np.ndarray) -> None:
        weights = self._weights(dataset, dataset.reviews.iloc[0:0], np.zeros(0))
        idx = np.asarray(user_indices, dtype=np.int64)
        grown = np.zeros((dataset.n_users, self.user_vecs_.shape[1]), dtype=np.float32)
        grown[: len(self.user_vecs_)] = self.user_vecs_
        grown[idx] = self._profiles(weights[idx])
        self.user_vecs_ = grown
        self.item_pop_ = np.log1p(dataset.item_popularity()).astype(np.float32)

    def _fold_in_items(self, dataset: InteractionDataset, item_indices: np.ndarray) -> None:
        idx = np.asarray(item_indices, dtype=np.int64)
        new_cat = self._encode(catalog_texts(dataset.items.iloc[idx]))
        old_users = len(self.user_vecs_)
        weights = self._weights(dataset, dataset.reviews.iloc[0:0], np.zeros(0))[:old_users]
        buyers = np.maximum(weights[:, idx].T.toarray(), 0.0) @ self.user_vecs_.astype(np.float64)
        part = self._impute(new_cat, buyers if buyers.any() else None)
        self.catalog_vecs_ = np.vstack([self.catalog_vecs_, new_cat])
        self.review_part_ = np.vstack([self.review_part_, part.astype(np.float32)])
        self.has_reviews_ = np.concatenate([self.has_reviews_, np.zeros(len(idx), dtype=bool)])
        self.item_vecs_ = np.vstack([self.item_vecs_, self._combine(new_cat, part)])
        inter = dataset.interactions
        touched = np.unique(inter["user_idx"].to_numpy()[inter["item_idx"].isin(idx).to_numpy()])
        fresh = np.arange(old_users, dataset.n_users)
        self._fold_in_users(dataset, np.union1d(touched, fresh).astype(np.int64))

    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> dict[str, Any]:
        return {
            "item_vecs": self.item_vecs_,
            "catalog_vecs": self.catalog_vecs_,
            "user_vecs": self.user_vecs_,
            "review_part": self.review_part_,
            "has_reviews": self.has_reviews_,
            "item_pop": self.item_pop_,
            "center": self.center_,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self.item_vecs_ = np.asarray(state["item_vecs"], dtype=np.float32)
        self.catalog_vecs_ = np.asarray(state["catalog_vecs"], dtype=np.float32)
        self.user_vecs_ = np.asarray(state["user_vecs"], dtype=np.float32)
        self.review_part_ = np.asarray(state["review_part"], dtype=np.float32)
        self.center_ = np.asarray(state["center"], dtype=np.float32)
        self.has_reviews_ = np.asarray(state["has_reviews"], dtype=bool)
        self.item_pop_ = np.asarray(state["item_pop"], dtype=np.float32)

    def _save_extra(self, directory: Path) -> None:
        self._save_evidence(directory)

    def _load_extra(self, directory: Path) -> None:
        self._load_evidence(directory)
