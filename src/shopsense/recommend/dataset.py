"""The training view every recommender fits on: id maps, the user x item weight matrix, item metadata.

:class:`InteractionDataset` is built once from a :class:`~shopsense.core.records.StoreData` (or from an
interaction frame plus a catalog) and shared by all models. Conventions every model relies on:

* Indices. ``user_ids[u]`` / ``item_ids[i]`` map indices back to ids; ``user_index`` / ``item_index`` map
  ids to indices. A freshly built dataset lists items in *id order* (see :func:`id_sort_key`), so that
  index order equals id order; after :meth:`InteractionDataset.with_new_interactions` appends new items,
  ``item_order`` still gives each item's rank in id order, which is what tie-breaking uses.
* ``matrix`` is a CSR ``float32`` user x item matrix of interaction weights (one entry per user-item pair,
  the largest weight of the pair's events). Weights come from ``event_weights``: purchase, rating and
  cart count more than a click, a click more than a view. ``rating_scale=True`` lets the stars modulate
  rating events (``weight * stars / 5``).
* Items come from the catalog *and* from interactions, so catalog items nobody touched exist (with an
  empty matrix column) and can be recommended by content models or by filters.
* ``reviews`` holds only the reviews whose (user, item) pair is part of this dataset's interactions,
  so a model trained on an evaluation split never sees held-out review text. ``store`` is a
  :class:`StoreData` restricted the same way (full catalog, only this dataset's interactions and reviews).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopsense.core.records import TABLE_COLUMNS, StoreData, empty_table

DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "purchase": 1.0, "rating": 1.0, "cart": 0.8, "click": 0.4, "view": 0.2, "chat_feedback": 0.0,
}
_INT_RE = re.compile(r"^-?\d{1,18}$")


def id_sort_key(ids: Iterable[str]) -> np.ndarray:
    """Rank of each id in *id order*: numeric when every id is an integer literal, else lexicographic.

    Numeric order for all-integer ids (MovieLens ``movieId``) makes "ties go to the smaller item_id"
    mean what other tools mean by it; mixed or alphanumeric ids (ASINs) compare as strings.
    """
    arr = np.asarray(list(ids), dtype=object)
    if len(arr) == 0:
        return np.zeros(0, dtype=np.int64)
    strs = arr.astype(str)
    if all(_INT_RE.match(s) for s in strs):
        order = np.lexsort((strs, strs.astype(np.int64)))
    else:
        order = np.argsort(strs, kind="stable")
    rank = np.empty(len(arr), dtype=np.int64)
    rank[order] = np.arange(len(arr))
    return rank


def sort_ids(ids: Iterable[str]) -> list[str]:
    """The ids sorted in id order (see :func:`id_sort_key`)."""
    ids = [str(x) for x in ids]
    rank = id_sort_key(ids)
    out: list[str] = [""] * len(ids)
    for s, r in zip(ids, rank, strict=True):
        out[r] = s
    return out


def _to_seconds(ts: pd.Series) -> np.ndarray:
    """Unix seconds (float64) of a timestamp column; missing timestamps become NaN."""
    if len(ts) == 0:
        return np.zeros(0, dtype=np.float64)
    if pd.api.types.is_numeric_dtype(ts):
        return ts.astype("float64").to_numpy()
    conv = pd.to_datetime(ts, utc=True, errors="coerce")
    # Via a timedelta, not astype(int64): the unit of a datetime column may be s, ms, us or ns.
    return ((conv - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64,
                                                                                   na_value=np.nan)


def _interaction_weights(events: pd.Series, values: pd.Series, event_weights: Mapping[str, float],
                         rating_scale: bool) -> np.ndarray:
    ev = events.fillna("purchase").astype(str)
    unknown = sorted(set(ev.unique()) - set(event_weights))
    if unknown:
        raise ValueError(f"interactions: unknown event type(s) {unknown}; "
                         f"expected one of {sorted(event_weights)}")
    w = ev.map(event_weights).to_numpy(dtype=np.float64)
    if rating_scale:
        stars = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        is_rating = (ev == "rating").to_numpy() & ~np.isnan(stars)
        w[is_rating] = w[is_rating] * np.clip(stars[is_rating], 0.0, 5.0) / 5.0
    return w


def item_texts(items: pd.DataFrame) -> list[str]:
    """One text per catalog row: title, category, brand and description joined (a missing column is empty)."""
    blank = pd.Series([""] * len(items), index=items.index, dtype=object)
    cols = [items[c].fillna("").astype(str) if c in items else blank for c in ("title", "category", "brand",
                                                                               "description")]
    joined = cols[0].str.cat(cols[1:], sep=". ")
    return [re.sub(r"(\.\s*)+$", "", re.sub(r"(\. ){2,}", ". ", t)).strip() for t in joined]


@dataclass
class InteractionDataset:
    """Everything a recommender learns from, aligned on integer user and item indices (see module doc)."""

    user_ids: np.ndarray                 # (n_users,) str
    item_ids: np.ndarray                 # (n_items,) str
    matrix: sp.csr_matrix                # (n_users, n_items) float32 weights
    items: pd.DataFrame                  # catalog rows aligned to item index (canonical item columns)
    interactions: pd.DataFrame           # user_idx, item_idx, timestamp (unix s), event, value, weight
    item_order: np.ndarray               # (n_items,) int64 rank of each item in id order
    reviews: pd.DataFrame = field(default_factory=lambda: empty_table("reviews"))
    store: StoreData | None = None
    event_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    rating_scale: bool = False
    user_index: dict[str, int] = field(init=False, repr=False)
    item_index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.user_index = {u: i for i, u in enumerate(self.user_ids)}
        self.item_index = {it: i for i, it in enumerate(self.item_ids)}

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_store(cls, store: StoreData, *, items: pd.DataFrame | None = None,
                   event_weights: Mapping[str, float] | None = None, rating_scale: bool = False,
                   ) -> InteractionDataset:
        """Build from a store: its interactions plus one rating per review, over its catalog.

        ``items`` overrides the catalog (e.g. the full catalog when ``store`` holds a split).
        """
        return cls.from_interactions(store.all_interactions(), items=store.items if items is None else items,
                                     reviews=store.reviews, event_weights=event_weights,
                                     rating_scale=rating_scale, store=store)

    @classmethod
    def from_interactions(cls, interactions: pd.DataFrame, *, items: pd.DataFrame | None = None,
                          reviews: pd.DataFrame | None = None,
                          event_weights: Mapping[str, float] | None = None,
                          rating_scale: bool = False, store: StoreData | None = None,
                          user_ids: Iterable[str] | None = None) -> InteractionDataset:
        """Build from an interaction frame (``user_id, item_id, timestamp[, event, value]``) and a catalog.

        ``user_ids`` adds users without interactions (kept at the end, in the given order). Reviews are
        kept only for pairs present in ``interactions``; ``store`` (if given) is restricted the same way.
        """
        weights_map = dict(DEFAULT_EVENT_WEIGHTS if event_weights is None else event_weights)
        inter = interactions.copy()
        for col in ("event", "value"):
            if col not in inter.columns:
                inter[col] = None
        inter["user_id"] = inter["user_id"].astype(str)
        inter["item_id"] = inter["item_id"].astype(str)
        catalog = items if items is not None else empty_table("items")
        catalog = _canonical_items(catalog)
        all_item_ids = pd.unique(pd.concat([catalog["item_id"], inter["item_id"]], ignore_index=True))
        item_ids = np.asarray(sort_ids(all_item_ids), dtype=object)
        users = list(pd.unique(inter["user_id"]))
        if user_ids is not None:
            seen = set(users)
            users += [str(u) for u in user_ids if str(u) not in seen]
        user_arr = np.asarray(users, dtype=object)
        ds = cls(user_ids=user_arr, item_ids=item_ids, matrix=sp.csr_matrix((len(user_arr), len(item_ids)),
                 dtype=np.float32), items=_align_items(catalog, item_ids),
                 interactions=pd.DataFrame(), item_order=np.arange(len(item_ids), dtype=np.int64),
                 event_weights=weights_map, rating_scale=rating_scale)
        ds.interactions = ds._encode(inter)
        ds.matrix = ds._build_matrix(ds.interactions)
        ds.reviews = ds._restrict_reviews(reviews)
        if store is not None:
            ds.store = StoreData(items=store.items if items is None else items,
                                 interactions=_restrict_pairs(store.interactions, inter),
                                 reviews=ds.reviews, faq=store.faq,
                                 orders=_restrict_pairs(store.orders, inter),
                                 users=store.users)
        return ds

    def _encode(self, inter: pd.DataFrame) -> pd.DataFrame:
        w = _interaction_weights(inter["event"], inter["value"], self.event_weights, self.rating_scale)
        return pd.DataFrame({
            "user_idx": inter["user_id"].map(self.user_index).to_numpy(dtype=np.int64),
            "item_idx": inter["item_id"].map(self.item_index).to_numpy(dtype=np.int64),
            "timestamp": _to_seconds(inter["timestamp"]),
            "event": inter["event"].fillna("purchase").astype(str).to_numpy(),
            "value": pd.to_numeric(inter["value"], errors="coerce").to_numpy(dtype=np.float64),
            "weight": w,
        })

    def _build_matrix(self, enc: pd.DataFrame) -> sp.csr_matrix:
        # One entry per pair: the largest weight of its events, so ten views never outweigh a purchase.
        m = sp.csr_matrix((self.n_users, self.n_items), dtype=np.float32)
        if len(enc):
            agg = enc.groupby(["user_idx", "item_idx"], sort=True)["weight"].max()
            rows = agg.index.get_level_values(0).to_numpy()
            cols = agg.index.get_level_values(1).to_numpy()
            m = sp.csr_matrix((agg.to_numpy(np.float32), (rows, cols)), shape=(self.n_users, self.n_items))
        m.eliminate_zeros()
        m.sort_indices()
        return m.astype(np.float32)

    def _restrict_reviews(self, reviews: pd.DataFrame | None) -> pd.DataFrame:
        if reviews is None or len(reviews) == 0:
            return empty_table("reviews")
        pairs = set(zip(self.interactions["user_idx"], self.interactions["item_idx"], strict=True))
        u = reviews["user_id"].astype(str).map(self.user_index)
        i = reviews["item_id"].astype(str).map(self.item_index)
        keep = [(a, b) in pairs if not (pd.isna(a) or pd.isna(b)) else False
                for a, b in zip(u, i, strict=True)]
        out = reviews.loc[keep].copy()
        out["user_idx"] = u[keep].astype(np.int64).to_numpy()
        out["item_idx"] = i[keep].astype(np.int64).to_numpy()
        return out.reset_index(drop=True)

    # ------------------------------------------------------------------ views
    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def item_category(self) -> np.ndarray:
        """(n_items,) category path strings ('' when unknown)."""
        return self.items["category"].to_numpy(dtype=object)

    @property
    def item_price(self) -> np.ndarray:
        """(n_items,) float64 prices, NaN when unknown."""
        return pd.to_numeric(self.items["price"], errors="coerce").to_numpy(dtype=np.float64)

    @property
    def item_title(self) -> np.ndarray:
        """(n_items,) titles ('' when the item is only known from interactions)."""
        return self.items["title"].to_numpy(dtype=object)

    def item_text(self) -> list[str]:
        """One text per item: title, category, brand and description joined (may be empty)."""
        return item_texts(self.items)

    def item_popularity(self) -> np.ndarray:
        """(n_items,) number of distinct users per item."""
        return np.asarray(self.matrix.getnnz(axis=0), dtype=np.float64)

    def user_items(self, user_idx: int) -> np.ndarray:
        """Item indices the user interacted with."""
        m = self.matrix
        return m.indices[m.indptr[user_idx]:m.indptr[user_idx + 1]]

    def known_item_indices(self, item_ids: Iterable[str]) -> np.ndarray:
        """Indices of the ids that are in the dataset (unknown ids dropped, order kept)."""
        known = [self.item_index[i] for i in map(str, item_ids) if i in self.item_index]
        return np.asarray(known, dtype=np.int64)

    # ------------------------------------------------------------------ fold-in
    def with_new_interactions(self, interactions: pd.DataFrame, items: pd.DataFrame | None = None,
                              ) -> InteractionDataset:
        """A new dataset with these interactions (and catalog rows) added; existing indices are unchanged.

        New users and new items are appended after the existing ones (so models can grow their state
        in place); ``item_order`` is recomputed so tie-breaking still follows id order.
        """
        inter = interactions.copy()
        for col in ("event", "value"):
            if col not in inter.columns:
                inter[col] = None
        inter["user_id"] = inter["user_id"].astype(str)
        inter["item_id"] = inter["item_id"].astype(str)
        new_items = _canonical_items(items) if items is not None else empty_table("items").iloc[0:0]
        fresh_item_ids = [i for i in pd.unique(pd.concat([new_items["item_id"], inter["item_id"]]))
                          if i not in self.item_index]
        fresh_users = [u for u in pd.unique(inter["user_id"]) if u not in self.user_index]
        item_ids = np.concatenate([self.item_ids, np.asarray(fresh_item_ids, dtype=object)])
        added = new_items[~new_items["item_id"].isin(self.item_index)]
        catalog = self.items
        if len(added):  # column-wise concat of object arrays: no dtype guessing on all-empty columns
            catalog = pd.DataFrame({c: np.concatenate([self.items[c].to_numpy(object),
                                                       added[c].to_numpy(object)])
                                    for c in TABLE_COLUMNS["items"]})
        ds = replace(self, user_ids=np.concatenate([self.user_ids, np.asarray(fresh_users, dtype=object)]),
                     item_ids=item_ids, items=_align_items(catalog, item_ids),
                     item_order=id_sort_key(item_ids))
        enc = ds._encode(inter)
        ds.interactions = pd.concat([self.interactions, enc], ignore_index=True)
        ds.matrix = ds._build_matrix(ds.interactions)
        ds.store = None  # the restricted store no longer matches; fold-in models must not need it
        return ds

    # ------------------------------------------------------------------ persistence
    def save(self, path: Path) -> None:
        """Write into directory ``path`` (``dataset.npz`` + ``dataset_items.parquet`` + ``dataset.json``).

        Reviews and the store are training-time inputs and are not saved.
        """
        path.mkdir(parents=True, exist_ok=True)
        inter = self.interactions
        np.savez(path / "dataset.npz", indptr=self.matrix.indptr, indices=self.matrix.indices,
                 data=self.matrix.data, item_order=self.item_order,
                 i_user=inter["user_idx"].to_numpy(np.int64), i_item=inter["item_idx"].to_numpy(np.int64),
                 i_ts=inter["timestamp"].to_numpy(np.float64), i_value=inter["value"].to_numpy(np.float64),
                 i_weight=inter["weight"].to_numpy(np.float64))
        items = self.items.copy()
        items["attributes"] = items["attributes"].map(lambda a: json.dumps(a if isinstance(a, dict) else {}))
        items.to_parquet(path / "dataset_items.parquet", index=False)
        meta = {"user_ids": [str(u) for u in self.user_ids], "item_ids": [str(i) for i in self.item_ids],
                "events": inter["event"].astype(str).tolist(), "event_weights": self.event_weights,
                "rating_scale": self.rating_scale}
        (path / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> InteractionDataset:
        """Read what :meth:`save` wrote."""
        meta = json.loads((path / "dataset.json").read_text(encoding="utf-8"))
        with np.load(path / "dataset.npz") as z:
            arrays = {k: z[k] for k in z.files}
        user_ids = np.asarray(meta["user_ids"], dtype=object)
        item_ids = np.asarray(meta["item_ids"], dtype=object)
        matrix = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]),
                               shape=(len(user_ids), len(item_ids)))
        items = pd.read_parquet(path / "dataset_items.parquet")
        items["attributes"] = items["attributes"].map(json.loads)
        inter = pd.DataFrame({"user_idx": arrays["i_user"], "item_idx": arrays["i_item"],
                              "timestamp": arrays["i_ts"],
                              "event": np.asarray(meta["events"], dtype=object), "value": arrays["i_value"],
                              "weight": arrays["i_weight"]})
        return cls(user_ids=user_ids, item_ids=item_ids, matrix=matrix, items=items, interactions=inter,
                   item_order=arrays["item_order"], event_weights=meta["event_weights"],
                   rating_scale=meta["rating_scale"])


def _canonical_items(items: pd.DataFrame) -> pd.DataFrame:
    out = items.copy()
    for col in TABLE_COLUMNS["items"]:
        if col not in out.columns:
            out[col] = None
    out["item_id"] = out["item_id"].astype(str)
    return out.drop_duplicates("item_id", keep="first")


def _align_items(catalog: pd.DataFrame, item_ids: np.ndarray) -> pd.DataFrame:
    """Catalog rows in ``item_ids`` order; items only known from interactions get blank rows."""
    cols = list(TABLE_COLUMNS["items"])
    aligned = catalog[cols].set_index("item_id").reindex(pd.Index(item_ids, name="item_id")).reset_index()
    for col in ("title", "description", "category", "brand", "currency", "image_url"):
        aligned[col] = aligned[col].fillna("").astype(str)
    aligned["price"] = pd.to_numeric(aligned["price"], errors="coerce")
    aligned["attributes"] = aligned["attributes"].map(lambda a: a if isinstance(a, dict) else {})
    return aligned


def _restrict_pairs(table: pd.DataFrame, inter: pd.DataFrame) -> pd.DataFrame:
    if len(table) == 0 or "user_id" not in table.columns:
        return table
    pairs = pd.MultiIndex.from_arrays([inter["user_id"].astype(str), inter["item_id"].astype(str)])
    keys = pd.MultiIndex.from_arrays([table["user_id"].astype(str), table["item_id"].astype(str)])
    return table[keys.isin(pairs)].reset_index(drop=True)
