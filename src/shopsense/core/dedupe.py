"""Exact and near-duplicate review detection, reported pair by pair.

A review is an **exact duplicate** of an earlier one when their normalised texts (lower-cased,
punctuation and whitespace removed) are equal and

- they have the same user and the same item (a re-post; any length), or
- they share the item or the user and the text has at least ``min_chars`` normalised characters.
  Short stock phrases ("Great product!") written by different people are real, separate opinions,
  so they are kept.

A review is a **near duplicate** when the Jaccard similarity of the character 5-gram sets of the
normalised texts is at least ``threshold`` against an earlier kept review of the same item or the same
user (texts of ``min_chars`` or more). Candidates come from MinHash signatures (numpy, 16 hash
functions) and LSH banding (8 bands of 2 rows: a pair at Jaccard 0.9 becomes a candidate with
probability > 0.9999, at 0.5 with 0.9) keyed by the item or user, so nothing is compared globally;
every candidate is verified with the exact Jaccard similarity. Of each set of duplicates the
earliest review (by timestamp, then row order; missing timestamps last) is kept.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

_SHINGLE = 5
_NUM_PERM = 16
_BANDS = 8
_MAX_BUCKET_PAIRS = 100  # in a huge LSH bucket each review is compared with the 100 before it
_MASK64 = (1 << 64) - 1


@dataclass
class DuplicateReport:
    """Which reviews duplicate which: pairs by input index label, and the set of labels to drop."""

    exact: list[tuple[Any, Any]] = field(default_factory=list)
    near: list[tuple[Any, Any, float]] = field(default_factory=list)
    n_reviews: int = 0
    threshold: float = 0.9
    min_chars: int = 25

    @property
    def drop_index(self) -> set[Any]:
        return {d for _, d in self.exact} | {d for _, d, _ in self.near}

    def summary(self) -> dict[str, Any]:
        return {
            "reviews": self.n_reviews,
            "exact_duplicates": len(self.exact),
            "near_duplicates": len(self.near),
            "dropped": len(self.drop_index),
            "kept": self.n_reviews - len(self.drop_index),
            "threshold": self.threshold,
            "min_chars": self.min_chars,
        }


def normalise_for_dedupe(texts: pd.Series) -> pd.Series:
    """Lower-cased text with punctuation, symbols and whitespace removed (missing -> "")."""
    return texts.fillna("").astype(str).str.lower().str.replace(r"[\W_]+", "", regex=True)


def _order(reviews: pd.DataFrame, time_col: str) -> np.ndarray:
    """Row positions from earliest to latest (timestamp, then row order; missing timestamps last)."""
    pos = np.arange(len(reviews))
    if time_col not in reviews.columns:
        return pos
    times = reviews[time_col]
    if not pd.api.types.is_datetime64_any_dtype(times):
        times = pd.to_datetime(times, errors="coerce", utc=True)
    frame = pd.DataFrame({"t": times.to_numpy(), "p": pos})
    return frame.sort_values(["t", "p"], na_position="last", kind="stable")["p"].to_numpy()


def _key_values(reviews: pd.DataFrame, col: str) -> list[Any]:
    """Group keys of a column, None where missing (missing ids never group together)."""
    if col not in reviews.columns:
        return [None] * len(reviews)
    values = reviews[col].astype(object)
    return [None if pd.isna(v) else v for v in values]


def _shingle_hashes(norms: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every character 5-gram of every text, concatenated, and each text's offsets."""
    lengths = np.fromiter((max(len(t) - _SHINGLE + 1, 0) for t in norms), dtype=np.int64, count=len(norms))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    if offsets[-1] == 0:
        return np.zeros(0, dtype=np.uint64), offsets
    # Texts shorter than a shingle contribute nothing, so they are left out of the concatenation.
    codes = np.frombuffer("".join(t for t in norms if len(t) >= _SHINGLE).encode("utf-32-le"),
                          dtype=np.uint32).astype(np.uint64)
    char_end = np.cumsum([len(t) for t in norms if len(t) >= _SHINGLE])
    n_windows = len(codes) - _SHINGLE + 1
    prime = np.uint64(0x100000001B3)
    with np.errstate(over="ignore"):
        rolled = codes[:n_windows].copy()
        for k in range(1, _SHINGLE):  # in place: these arrays hold tens of millions of shingles
            rolled *= prime
            rolled += codes[k:n_windows + k]
        # Drop the windows that straddle two texts (the last _SHINGLE - 1 starts before each text's end).
        valid = np.ones(n_windows, dtype=bool)
        straddle = (char_end[:-1, None] - np.arange(1, _SHINGLE)[None, :]).ravel()
        valid[straddle] = False
        hashes = rolled[valid]
        hashes ^= hashes >> np.uint64(31)
        hashes *= np.uint64(0x7FB5D329728EA185)
        hashes ^= hashes >> np.uint64(27)
    return hashes, offsets


def _minhash(hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """MinHash signatures (n_docs, _NUM_PERM); document d owns hashes[offsets[d]:offsets[d + 1]] (>= 1)."""
    rng = np.random.default_rng(20240601)
    a = rng.integers(1, 2**63, size=_NUM_PERM, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=_NUM_PERM, dtype=np.uint64)
    n_docs = len(offsets) - 1
    sig = np.empty((n_docs, _NUM_PERM), dtype=np.uint64)
    # Contiguous runs of documents holding about 250k shingles each, to bound memory.
    bounds = np.searchsorted(offsets, np.arange(0, offsets[-1], 250_000), side="right") - 1
    bounds = np.unique(np.concatenate([bounds, [n_docs]]))
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        flat = hashes[offsets[lo]:offsets[hi]]
        with np.errstate(over="ignore"):
            perm = flat[:, None] * a[None, :] + b[None, :]
        sig[lo:hi] = np.minimum.reduceat(perm, offsets[lo:hi] - offsets[lo], axis=0)
    return sig


def _candidate_pairs(sig: np.ndarray, groups: list[list[Any]], rank: np.ndarray) -> set[tuple[int, int]]:
    """Pairs (row_a, row_b) of signature rows that share an LSH bucket within the same group."""
    rows_per_band = _NUM_PERM // _BANDS
    pairs: set[tuple[int, int]] = set()
    mixers = np.random.default_rng(7).integers(1, 2**63, size=rows_per_band, dtype=np.uint64) | np.uint64(1)
    for keys in groups:
        has_key = np.array([k is not None for k in keys])
        if has_key.sum() < 2:
            continue
        key_codes = pd.factorize(pd.Series(keys, dtype=object))[0]
        for band in range(_BANDS):
            block = sig[:, band * rows_per_band:(band + 1) * rows_per_band]
            with np.errstate(over="ignore"):
                band_hash = (block * mixers[None, :]).sum(axis=1)
            frame = pd.DataFrame({"g": key_codes, "h": band_hash, "r": np.arange(len(sig)), "o": rank})
            frame = frame[has_key]
            dup = frame[frame.duplicated(["g", "h"], keep=False)]
            for _, bucket in dup.sort_values("o").groupby(["g", "h"], sort=False):
                members = bucket["r"].tolist()
                for j in range(1, len(members)):
                    for i in range(max(0, j - _MAX_BUCKET_PAIRS), j):
                        a, b = members[i], members[j]
                        pairs.add((a, b) if a < b else (b, a))
    return pairs


def find_duplicate_reviews(reviews: pd.DataFrame, threshold: float = 0.9, min_chars: int = 25,
                           text_col: str = "text", user_col: str = "user_id", item_col: str = "item_id",
                           time_col: str = "timestamp") -> DuplicateReport:
    """Exact and near-duplicate reviews of ``reviews`` (see the module docstring for the rules).

    Index labels in the report are those of ``reviews``; ``report.drop_index`` is what to drop.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if text_col not in reviews.columns:
        raise ValueError(f"reviews have no {text_col!r} column (columns: {list(reviews.columns)})")
    report = DuplicateReport(n_reviews=len(reviews), threshold=threshold, min_chars=min_chars)
    if len(reviews) < 2:
        return report
    labels = reviews.index.tolist()  # plain Python labels in the report, not numpy scalars
    norms = normalise_for_dedupe(reviews[text_col]).tolist()
    users = _key_values(reviews, user_col)
    items = _key_values(reviews, item_col)
    order = _order(reviews, time_col)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))

    dropped = np.zeros(len(reviews), dtype=bool)
    seen: dict[tuple[Any, ...], int] = {}
    for pos in order:
        norm = norms[pos]
        if not norm:
            continue
        user, item = users[pos], items[pos]
        keys = []
        if user is not None and item is not None:
            keys.append(("ui", user, item, norm))
        if len(norm) >= min_chars:
            if item is not None:
                keys.append(("i", item, norm))
            if user is not None:
                keys.append(("u", user, norm))
        first = next((seen[k] for k in keys if k in seen), None)
        if first is not None:
            dropped[pos] = True
            report.exact.append((labels[first], labels[pos]))
        else:
            for k in keys:
                seen[k] = pos

    report.near = _near_duplicates(norms, users, items, rank, order, dropped, threshold, min_chars, labels)
    return report


def _near_duplicates(norms: list[str], users: list[Any], items: list[Any], rank: np.ndarray,
                     order: np.ndarray, dropped: np.ndarray, threshold: float, min_chars: int,
                     labels: list[Any]) -> list[tuple[Any, Any, float]]:
    least = max(min_chars, _SHINGLE)
    eligible = np.array([not dropped[p] and len(norms[p]) >= least for p in range(len(norms))])
    # Only reviews that share their item or their user with another eligible review can be near duplicates.
    shared = np.zeros(len(norms), dtype=bool)
    for keys in (items, users):
        codes = pd.Series([k if e else None for k, e in zip(keys, eligible, strict=True)], dtype=object)
        counts = codes.map(codes.value_counts())
        shared |= (counts.fillna(0) >= 2).to_numpy()
    docs = np.flatnonzero(eligible & shared)
    if len(docs) < 2:
        return []
    hashes, offsets = _shingle_hashes([norms[p] for p in docs])
    sig = _minhash(hashes, offsets)
    groups = [[items[p] for p in docs], [users[p] for p in docs]]
    pairs = _candidate_pairs(sig, groups, rank[docs])

    sets: dict[int, set[int]] = {}

    def shingles(row: int) -> set[int]:
        if row not in sets:
            sets[row] = set(hashes[offsets[row]:offsets[row + 1]].tolist())
        return sets[row]

    similar: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for a, b in pairs:
        sa, sb = shingles(a), shingles(b)
        sim = len(sa & sb) / len(sa | sb)
        if sim >= threshold:
            early, late = (a, b) if rank[docs[a]] < rank[docs[b]] else (b, a)
            similar[late].append((early, sim))

    out: list[tuple[Any, Any, float]] = []
    row_of = {int(p): r for r, p in enumerate(docs)}
    near_dropped: set[int] = set()
    for pos in order:
        row = row_of.get(int(pos))
        if row is None or row not in similar:
            continue
        kept = [(e, s) for e, s in similar[row] if e not in near_dropped]
        if kept:
            early, sim = max(kept, key=lambda es: (es[1], -rank[docs[es[0]]]))
            near_dropped.add(row)
            out.append((labels[docs[early]], labels[pos], round(float(sim), 4)))
    return out
