"""Shared feature building for the text, hybrid and rating models.

* Text: :func:`encode_texts` (the sentence encoder, cached on disk, empty texts -> zero vectors),
  :func:`catalog_texts` (title, category, brand, description of each item — never review text, so it is
  safe for items held out of training).
* Sentiment: :func:`lexicon_sentiment` (VADER for English, SnowNLP for Chinese) and
  :func:`resolve_sentiment`, so a trained classifier can be plugged in by import path.
* Per-item and per-user statistics for the learning-to-rank hybrid: :class:`ItemStats`,
  :class:`UserStats` and :func:`pair_features`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from shopsense.nlp.lexicon import lexicon_sentiment
from shopsense.recommend.dataset import InteractionDataset

SentimentScorer = Callable[[Sequence[str]], np.ndarray]
_MAX_CATALOG_CHARS = 1200  # the encoder truncates at 256 tokens (~1000 characters of English)


# ------------------------------------------------------------------ sentiment
def resolve_sentiment(spec: str) -> SentimentScorer:
    """The sentiment scorer named by ``spec``: ``"lexicon"`` or an import path ``"package.module:function"``.

    A plugged-in function takes a list of texts and returns polarities in [-1, 1] (e.g. a fine-tuned
    classifier's P(positive) - P(negative)). A string (not a callable) keeps model parameters saveable.
    """
    if spec == "lexicon":
        return lexicon_sentiment
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"sentiment must be 'lexicon' or 'package.module:function', not {spec!r}")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"sentiment scorer {spec!r} cannot be imported: {exc}") from exc
    if not callable(fn):
        raise ValueError(f"sentiment scorer {spec!r} is not callable")
    return fn


def score_sentiment(scorer: SentimentScorer, texts: Sequence[str]) -> np.ndarray:
    """Run ``scorer`` and check its output: one finite value per text, clipped to [-1, 1]."""
    if len(texts) == 0:
        return np.zeros(0, dtype=np.float64)
    out = np.asarray(scorer(list(texts)), dtype=np.float64).reshape(-1)
    if out.shape[0] != len(texts):
        raise ValueError(f"sentiment scorer returned {out.shape[0]} values for {len(texts)} texts")
    return np.clip(np.nan_to_num(out, nan=0.0), -1.0, 1.0)


# ------------------------------------------------------------------ text
def encode_texts(
    texts: Sequence[str], backend: str = "onnx", cache_dir: str | Path | None = None
) -> np.ndarray:
    """Unit vectors for ``texts`` in one encoder call (duplicates encoded once; empty text -> zero row).

    ``cache_dir`` None means the workspace cache (``Settings.cache_dir``), so re-training never re-encodes.
    """
    from shopsense.text.encoder import get_encoder

    if cache_dir is None:
        from shopsense.core.settings import get_settings

        cache_dir = get_settings().cache_dir
    texts = [(t or "").strip() for t in texts]
    unique = list(dict.fromkeys(t for t in texts if t))
    encoder = get_encoder(backend=backend, cache_dir=cache_dir)
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    if unique:
        vecs = encoder.encode(unique)
        pos = {t: n for n, t in enumerate(unique)}
        for n, t in enumerate(texts):
            if t:
                out[n] = vecs[pos[t]]
    return out


def _clean(value: object) -> str:
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    return re.sub(r"\s+", " ", text).strip()


def catalog_texts(items: pd.DataFrame) -> list[str]:
    """One text per catalog row from title, category, brand and description (no review text).

    A title that is just the item id (``B000123``, ``Item B000123``: stores without titles) is dropped.
    """
    out = []
    for row in items.itertuples(index=False):
        title = _clean(getattr(row, "title", ""))
        item_id = _clean(getattr(row, "item_id", ""))
        if title in (item_id, f"Item {item_id}", f"item {item_id}"):
            title = ""
        parts = [title, _clean(getattr(row, "category", "")), _clean(getattr(row, "brand", "")),
                 _clean(getattr(row, "description", ""))]
        out.append(". ".join(p for p in parts if p)[:_MAX_CATALOG_CHARS])
    return out


# ------------------------------------------------------------------ ranker features
_DAY = 86_400.0
ITEM_STATS = ("log_pop", "log_pop_90d", "days_since_first", "days_since_last", "mean_rating",
              "log_n_ratings", "review_pos_share", "review_sentiment", "log_price")
PAIR_FEATURES = ("pop_at_user_30d", "pop_at_user_365d", "item_age_at_user", "user_log_activity",
                 "user_mean_rating", "price_fit", "category_match", "top_category_match", "brand_match",
                 "cooc_last", "text_last", "text_last3")


def item_stats(ds: InteractionDataset, review_sentiment: np.ndarray | None = None) -> np.ndarray:
    """(n_items, len(ITEM_STATS)) per-item evidence: popularity (all time, last 90 days), age, freshness,
    mean stars (shrunk towards the global mean by 5 pseudo-ratings), rating count, share and mean of
    positive review sentiment, log price. NaN where unknown. ``review_sentiment`` aligns with ``ds.reviews``.
    """
    n = ds.n_items
    out = np.full((n, len(ITEM_STATS)), np.nan)
    inter = ds.interactions
    item = inter["item_idx"].to_numpy(np.int64)
    ts = inter["timestamp"].to_numpy(np.float64)
    now = float(np.nanmax(ts)) if len(ts) and np.isfinite(ts).any() else 0.0
    pop = ds.item_popularity()
    out[:, 0] = np.log1p(pop)
    recent = np.nan_to_num(ts, nan=-np.inf) >= now - 90 * _DAY
    out[:, 1] = np.log1p(np.bincount(item[recent], minlength=n))
    if len(ts):
        first = pd.Series(ts).groupby(item).min().reindex(range(n)).to_numpy()
        last = pd.Series(ts).groupby(item).max().reindex(range(n)).to_numpy()
        out[:, 2] = (now - first) / _DAY
        out[:, 3] = (now - last) / _DAY
    stars = inter["value"].to_numpy(np.float64)
    rated = (inter["event"].to_numpy() == "rating") & ~np.isnan(stars)
    if rated.any():
        mu = float(stars[rated].mean())
        cnt = np.bincount(item[rated], minlength=n)
        out[:, 4] = (np.bincount(item[rated], stars[rated], minlength=n) + 5 * mu) / (cnt + 5)
        out[:, 5] = np.log1p(cnt)
    rev = ds.reviews
    if len(rev) and review_sentiment is not None and len(review_sentiment) == len(rev):
        ri = rev["item_idx"].to_numpy(np.int64)
        cnt = np.bincount(ri, minlength=n)
        pos = (review_sentiment >= 0.05) | (
            (np.abs(review_sentiment) < 0.05) & (rev["rating"].to_numpy() >= 4)
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, 6] = np.where(cnt > 0, np.bincount(ri, pos.astype(float), minlength=n) / cnt, np.nan)
            out[:, 7] = np.where(cnt > 0, np.bincount(ri, review_sentiment, minlength=n) / cnt, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        price = ds.item_price
        out[:, 8] = np.where(price > 0, np.log(price), np.nan)
    return out


@dataclass
class Histories:
    """What the pair features need to know about each row's user: items, times and stars."""

    items: list[np.ndarray]
    last_time: np.ndarray  # (rows,) unix seconds of the user's latest interaction
    mean_rating: np.ndarray  # (rows,) NaN when the user rated nothing
    recent: list[np.ndarray] = field(default_factory=list)  # up to 3 latest items, newest first

    @classmethod
    def of_users(cls, ds: InteractionDataset, users: np.ndarray) -> Histories:
        cache = ds.__dict__.get("_histories")
        if cache is None:
            inter = ds.interactions.assign(_order=ds.item_order[ds.interactions["item_idx"].to_numpy()])
            inter = inter.sort_values(["user_idx", "timestamp", "_order"], kind="stable", na_position="first")
            by_user = {int(u): g for u, g in inter.groupby("user_idx", sort=False)}
            cache = {}
            for u, g in by_user.items():
                items = pd.unique(g["item_idx"].to_numpy()[::-1])
                vals = g["value"].to_numpy(np.float64)
                rated = (g["event"].to_numpy() == "rating") & ~np.isnan(vals)
                cache[u] = (items, float(np.nanmax(g["timestamp"].to_numpy(np.float64), initial=np.nan)),
                            float(vals[rated].mean()) if rated.any() else np.nan)
            ds.__dict__["_histories"] = cache
        empty = (np.zeros(0, dtype=np.int64), np.nan, np.nan)
        rows = [cache.get(int(u), empty) for u in users]
        return cls(items=[np.sort(r[0]) for r in rows], last_time=np.array([r[1] for r in rows]),
                   mean_rating=np.array([r[2] for r in rows]), recent=[r[0][:3] for r in rows])

    @classmethod
    def of_profile(cls, items: np.ndarray, now: float) -> Histories:
        items = np.asarray(items, dtype=np.int64)
        return cls(items=[np.unique(items)], last_time=np.array([now]), mean_rating=np.array([np.nan]),
                   recent=[items[::-1][:3]])


class PairContext:
    """Per-dataset lookups for :func:`pair_features`, built once (codes, prices, times, co-occurrence)."""

    def __init__(self, ds: InteractionDataset, item_vecs: np.ndarray | None) -> None:
        self.n_items = ds.n_items
        cats = pd.Series(ds.item_category).fillna("").astype(str).str.strip().str.lower()
        top = cats.str.split(">").str[0].str.strip()
        brand = ds.items["brand"].fillna("").astype(str).str.strip().str.lower()
        self.codes = [np.where(c == "", -1, pd.factorize(c)[0]) for c in (cats, top, brand)]
        price = ds.item_price
        with np.errstate(invalid="ignore", divide="ignore"):
            self.log_price = np.where(price > 0, np.log(price), np.nan)
        inter = ds.interactions
        ts = inter["timestamp"].to_numpy(np.float64)
        keep = np.isfinite(ts)
        self.keys = np.sort(inter["item_idx"].to_numpy(np.int64)[keep] * 10**11 + ts[keep].astype(np.int64))
        first = pd.Series(ts[keep]).groupby(inter["item_idx"].to_numpy()[keep]).min()
        self.first = first.reindex(range(ds.n_items)).to_numpy()
        x = ds.matrix.copy().astype(np.float32)
        x.data[:] = 1.0
        self.x = x.tocsc()
        self.norms = np.sqrt(np.asarray(self.x.sum(axis=0)).ravel())
        self.item_vecs = item_vecs

    def count_between(self, items: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        base = items * 10**11
        lo_k = base + np.nan_to_num(lo, nan=-1e11).clip(-1, 10**11 - 1).astype(np.int64)
        hi_k = base + np.nan_to_num(hi, nan=-1e11).clip(-1, 10**11 - 1).astype(np.int64)
        return np.searchsorted(self.keys, hi_k, side="right") - np.searchsorted(self.keys, lo_k, side="left")


def pair_features(ctx: PairContext, hist: Histories, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    """(len(rows), len(PAIR_FEATURES)) features of candidate ``items[j]`` for history row ``rows[j]``."""
    out = np.full((len(rows), len(PAIR_FEATURES)), np.nan)
    t = hist.last_time[rows]
    out[:, 0] = np.log1p(ctx.count_between(items, t - 30 * _DAY, t))
    out[:, 1] = np.log1p(ctx.count_between(items, t - 365 * _DAY, t))
    out[:, 2] = (t - ctx.first[items]) / _DAY
    sizes = np.array([len(h) for h in hist.items], dtype=np.float64)
    out[:, 3] = np.log1p(sizes[rows])
    out[:, 4] = hist.mean_rating[rows]
    for r in np.unique(rows):
        sel = np.flatnonzero(rows == r)
        h = hist.items[r]
        cand = items[sel]
        if len(h) == 0:
            continue
        med = np.nanmedian(ctx.log_price[h]) if np.isfinite(ctx.log_price[h]).any() else np.nan
        out[sel, 5] = np.abs(ctx.log_price[cand] - med)
        for col, codes in zip((6, 7, 8), ctx.codes, strict=True):
            hc = codes[h]
            hc = hc[hc >= 0]
            if len(hc):
                counts = np.bincount(hc, minlength=codes.max() + 1) / len(h)
                cc = codes[cand]
                out[sel, col] = np.where(cc >= 0, counts[np.maximum(cc, 0)], np.nan)
        recent = hist.recent[r]
        co = np.asarray((ctx.x[:, cand].T @ ctx.x[:, recent[:1]]).todense()).ravel()
        out[sel, 9] = co / np.maximum(ctx.norms[cand] * ctx.norms[recent[0]], 1e-9)
        if ctx.item_vecs is not None:
            sims = ctx.item_vecs[cand] @ ctx.item_vecs[recent].T
            out[sel, 10] = sims[:, 0]
            out[sel, 11] = sims.max(axis=1)
    return out


# ------------------------------------------------------------------ ranker training data
def training_cache(ds: InteractionDataset) -> dict:
    """A per-dataset cache (lives and dies with the dataset object), so that a grid of hybrids fitted on
    the same training data fits each base model and builds the ranker's training rows only once."""
    return ds.__dict__.setdefault("_hybrid_cache", {})


def pseudo_split(
    ds: InteractionDataset, min_items: int = 3
) -> tuple[InteractionDataset, np.ndarray, np.ndarray]:
    """Hold out each user's latest item (users with ``min_items``+ items) *inside* the training data.

    Returns the reduced dataset (same user and item indices; reviews of held-out pairs dropped, their
    row numbers in ``ds.reviews`` kept as ``__dict__["_review_rows"]``), the users and their held-out items.
    Pairs are ordered like the evaluation protocol: by their first timestamp, then id order.
    """
    inter = ds.interactions
    first = inter.groupby(["user_idx", "item_idx"], sort=False)["timestamp"].min().reset_index()
    first["order"] = ds.item_order[first["item_idx"].to_numpy()]
    first = first.sort_values(["user_idx", "timestamp", "order"], kind="stable", na_position="first")
    size = first.groupby("user_idx")["item_idx"].transform("size").to_numpy()
    last = first[(size >= min_items)].groupby("user_idx", sort=True).tail(1)
    users = last["user_idx"].to_numpy(np.int64)
    targets = last["item_idx"].to_numpy(np.int64)
    held = set(zip(users.tolist(), targets.tolist(), strict=True))
    pair = list(zip(inter["user_idx"].tolist(), inter["item_idx"].tolist(), strict=True))
    keep = np.fromiter((p not in held for p in pair), dtype=bool, count=len(pair))
    kept = inter[keep].reset_index(drop=True)
    inner = replace(ds, interactions=kept, store=None)
    inner.matrix = inner._build_matrix(kept)
    rev = ds.reviews
    rows = np.arange(len(rev))
    if len(rev):
        rk = np.fromiter(
            (
                (u, i) not in held
                for u, i in zip(rev["user_idx"].tolist(), rev["item_idx"].tolist(), strict=True)
            ),
            dtype=bool,
            count=len(rev),
        )
        inner.reviews = rev[rk].reset_index(drop=True)
        rows = rows[rk]
    inner.__dict__["_review_rows"] = rows
    return inner, users, targets


def average_ranks(s: np.ndarray) -> np.ndarray:
    """1-based rank of every entry in its row, best first; ties share their average rank."""
    n = s.shape[1]
    neg = -np.where(np.isnan(s), -np.inf, s)
    srt = np.sort(neg, axis=1)
    out = np.empty_like(neg, dtype=np.float64)
    for r in range(len(neg)):
        lo = np.searchsorted(srt[r], neg[r], side="left")
        hi = np.searchsorted(srt[r], neg[r], side="right")
        out[r] = (lo + hi + 1) / 2.0
    return np.minimum(out, n)
