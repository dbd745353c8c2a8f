"""The evaluation protocols, exactly as specified, and the ranking metrics.

Leave-last-out (the main protocol), so that figures compare with other tools run on the same data:

1. All interactions (explicit ones plus one per review) with a positive event weight; ``user_id`` and
   ``item_id`` as strings. Duplicate user-item pairs keep the earliest (ties in time: the first row).
2. Per user, interactions sorted by (timestamp, item_id); the last is *test*, the one before
   *validation*, the rest *train*. Users with fewer than 3 interactions stay whole in train and are not
   scored. Missing timestamps sort first (as the oldest).
3. Models are fitted on train only. Validation candidates: every item except the user's train items;
   test candidates: every item except the user's train items and validation item.
4. Ties in score go to the smaller item_id ("id order": numeric when all ids are integers, else string
   order; see :func:`shopsense.recommend.dataset.id_sort_key`).

Cold-start items: a seeded 10% of the items that have interactions are held out with all their
interactions; train is everything else; each held-out interaction whose user has training data is a test
case that ranks only the cold items (minus that user's other cold items).

Rating prediction: rating rows (reviews and ``rating`` events with a value), duplicate pairs keep the
earliest, a seeded 80/20 split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopsense.recommend.dataset import DEFAULT_EVENT_WEIGHTS, _to_seconds, id_sort_key

K = 10


@dataclass
class LeaveLastOutSplit:
    """Train rows, and one validation and one test row per scored user (canonical interaction columns)."""

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    all_items: list[str]


def prepare_interactions(interactions: pd.DataFrame) -> pd.DataFrame:
    """Step 1: string ids, known positive events, duplicate pairs reduced to their earliest row."""
    df = interactions.copy()
    if "event" not in df.columns:
        df["event"] = "purchase"
    if "value" not in df.columns:
        df["value"] = np.nan
    df["event"] = df["event"].fillna("purchase").astype(str)
    df = df[df["event"].map(DEFAULT_EVENT_WEIGHTS).fillna(1.0) > 0]
    df["user_id"] = df["user_id"].astype(str)
    df["item_id"] = df["item_id"].astype(str)
    df["_ts"] = _to_seconds(df["timestamp"])
    df["_row"] = np.arange(len(df))
    df = df.sort_values(["user_id", "item_id", "_ts", "_row"], kind="stable", na_position="first")
    df = df.drop_duplicates(["user_id", "item_id"], keep="first")
    return df.sort_values("_row", kind="stable").reset_index(drop=True)


def leave_last_out(interactions: pd.DataFrame) -> LeaveLastOutSplit:
    """Split per the main protocol (module docstring); the frames keep a ``_ts`` (unix seconds) column."""
    df = prepare_interactions(interactions)
    items = pd.unique(df["item_id"])
    rank = dict(zip(items, id_sort_key(items), strict=True))
    df["_item_rank"] = df["item_id"].map(rank).astype(np.int64)
    df = df.sort_values(["user_id", "_ts", "_item_rank"], kind="stable", na_position="first")
    from_end = df.groupby("user_id", sort=False).cumcount(ascending=False).to_numpy()
    size = df.groupby("user_id", sort=False)["item_id"].transform("size").to_numpy()
    scored = size >= 3
    test_mask = scored & (from_end == 0)
    valid_mask = scored & (from_end == 1)
    cols = [c for c in df.columns if c not in ("_row", "_item_rank")]
    pick = df[cols]
    return LeaveLastOutSplit(train=pick[~(test_mask | valid_mask)].reset_index(drop=True),
                             valid=pick[valid_mask].reset_index(drop=True),
                             test=pick[test_mask].reset_index(drop=True), all_items=list(items))


@dataclass
class ColdItemSplit:
    """Train rows without the cold items, the cold item ids, and the test rows (user has training data)."""

    train: pd.DataFrame
    test: pd.DataFrame
    cold_items: list[str]


def cold_item_split(interactions: pd.DataFrame, *, seed: int = 42, fraction: float = 0.1) -> ColdItemSplit:
    """Hold out a seeded ``fraction`` of the items that have interactions, with all their interactions."""
    df = prepare_interactions(interactions)
    items = pd.unique(df["item_id"])
    order = np.argsort(id_sort_key(items), kind="stable")
    ordered = items[order]
    n_cold = max(1, int(round(fraction * len(ordered)))) if len(ordered) else 0
    rng = np.random.default_rng(seed)
    cold = sorted(rng.choice(ordered, size=n_cold, replace=False).tolist()) if n_cold else []
    is_cold = df["item_id"].isin(set(cold))
    train = df[~is_cold]
    test = df[is_cold & df["user_id"].isin(set(train["user_id"]))]
    return ColdItemSplit(train=train.drop(columns=["_row"]).reset_index(drop=True),
                         test=test.drop(columns=["_row"]).reset_index(drop=True), cold_items=cold)


def rating_rows(interactions: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    """``user_id, item_id, rating, text, _ts``: reviews plus rating events, earliest row per pair."""
    parts = []
    if len(reviews):
        parts.append(pd.DataFrame({"user_id": reviews["user_id"].astype(str),
                                   "item_id": reviews["item_id"].astype(str),
                                   "rating": pd.to_numeric(reviews["rating"], errors="coerce"),
                                   "text": reviews["text"].fillna("").astype(str),
                                   "_ts": _to_seconds(reviews["timestamp"])}))
    if len(interactions):
        ev = interactions[(interactions["event"] == "rating") & interactions["value"].notna()]
        parts.append(pd.DataFrame({"user_id": ev["user_id"].astype(str), "item_id": ev["item_id"].astype(str),
                                   "rating": pd.to_numeric(ev["value"], errors="coerce"), "text": "",
                                   "_ts": _to_seconds(ev["timestamp"])}))
    if not parts:
        return pd.DataFrame(columns=["user_id", "item_id", "rating", "text", "_ts"])
    df = pd.concat(parts, ignore_index=True).dropna(subset=["rating"])
    df["_row"] = np.arange(len(df))
    df = df.sort_values(["user_id", "item_id", "_ts", "_row"], kind="stable", na_position="first")
    df = df.drop_duplicates(["user_id", "item_id"], keep="first").sort_values("_row", kind="stable")
    return df.drop(columns="_row").reset_index(drop=True)


def rating_split(rows: pd.DataFrame, *, seed: int = 42, train_fraction: float = 0.8,
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded random 80/20 split of rating rows."""
    perm = np.random.default_rng(seed).permutation(len(rows))
    cut = int(round(train_fraction * len(rows)))
    train = rows.iloc[np.sort(perm[:cut])].reset_index(drop=True)
    return train, rows.iloc[np.sort(perm[cut:])].reset_index(drop=True)


# ---------------------------------------------------------------------- metrics
def ranks_of_targets(scores: np.ndarray, targets: np.ndarray, item_order: np.ndarray) -> np.ndarray:
    """1-based rank of each row's target among its candidates; excluded items must be NaN in ``scores``.

    Rank = 1 + (#candidates scoring higher) + (#candidates scoring the same with a smaller item id).
    A non-finite target score counts as ``-inf``.
    """
    s = np.asarray(scores, dtype=np.float64)  # NaN compares False with everything: excluded items never count
    rows = np.arange(len(targets))
    st = s[rows, targets]
    st = np.where(np.isnan(st), -np.inf, st)
    higher = np.sum(s > st[:, None], axis=1)
    ties = np.sum((s == st[:, None]) & (item_order[None, :] < item_order[targets][:, None]), axis=1)
    return 1 + higher + ties


def metrics_from_ranks(ranks: np.ndarray, k: int = K) -> dict[str, np.ndarray]:
    """Per-case NDCG@k (one relevant item: 1/log2(rank+1)), Recall@k (= hit rate here) and MRR@k."""
    ranks = np.asarray(ranks, dtype=np.float64)
    hit = ranks <= k
    return {f"ndcg@{k}": np.where(hit, 1.0 / np.log2(ranks + 1.0), 0.0),
            f"recall@{k}": hit.astype(np.float64),
            f"mrr@{k}": np.where(hit, 1.0 / ranks, 0.0)}


def random_expected(n_candidates: np.ndarray, k: int = K) -> dict[str, np.ndarray]:
    """Expected per-case metrics of a uniformly random ranking over ``n_candidates`` items."""
    out = {f"ndcg@{k}": [], f"recall@{k}": [], f"mrr@{k}": []}
    for n in np.asarray(n_candidates, dtype=np.int64):
        r = np.arange(1, min(k, n) + 1, dtype=np.float64)
        out[f"ndcg@{k}"].append((1.0 / np.log2(r + 1.0)).sum() / n)
        out[f"recall@{k}"].append(len(r) / n)
        out[f"mrr@{k}"].append((1.0 / r).sum() / n)
    return {key: np.asarray(v, dtype=np.float64) for key, v in out.items()}


def summarise(per_case: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean and standard error (std/sqrt(n), ddof=1) of each per-case metric."""
    out: dict[str, float] = {}
    for key, values in per_case.items():
        v = np.asarray(values, dtype=np.float64)
        out[key] = float(v.mean()) if len(v) else float("nan")
        out[f"{key}_se"] = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")
    return out


def popularity_ranks(train_matrix_nnz_per_item: np.ndarray, item_order: np.ndarray) -> np.ndarray:
    """Rank of each item by training popularity (1 = most popular; ties in id order)."""
    order = np.lexsort((item_order, -np.asarray(train_matrix_nnz_per_item, dtype=np.float64)))
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks
