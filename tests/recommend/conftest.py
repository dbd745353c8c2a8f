"""Fixtures of the recommender tests: a synthetic store with a known answer (the contract suite runs on it,
always) and small real stores built from ../shared/data."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from planted_store import Planted, planted_store

from shopsense.core.records import StoreData
from shopsense.recommend.dataset import InteractionDataset


def _price(value: object) -> float:
    m = re.search(r"\d+(?:\.\d+)?", str(value).replace(",", ""))
    return float(m.group()) if m and str(value).strip().startswith("$") else np.nan


def gift_cards_store(shared_data: Path) -> StoreData:
    """Amazon Gift Cards 5-core (2,972 reviews, 458 users, 148 items) as a store.

    The upstream category is "Gift Cards > Gift Cards" for almost every item, so the test store uses
    "Gift Cards > <brand>" as the category path to give the filter tests something to select on.
    """
    folder = shared_data / "amazon-gift-cards-5core"
    raw = pd.read_json(folder / "Gift_Cards_5.json.gz", lines=True, dtype={"asin": str, "reviewerID": str})
    meta = pd.read_json(folder / "meta_Gift_Cards.json.gz", lines=True, dtype={"asin": str})
    meta = meta[meta["asin"].isin(raw["asin"])].drop_duplicates("asin")
    brand = meta["brand"].fillna("").astype(str).str.strip().replace("", "Other")
    items = pd.DataFrame(
        {
            "item_id": meta["asin"].to_numpy(),
            "title": meta["title"].astype(str).to_numpy(),
            "description": meta["description"]
            .map(lambda d: " ".join(d) if isinstance(d, list) else "")
            .to_numpy(),
            "category": ("Gift Cards > " + brand).to_numpy(),
            "brand": brand.to_numpy(),
            "price": meta["price"].map(_price).to_numpy(),
            "currency": "USD",
            "attributes": [{}] * len(meta),
            "image_url": "",
        }
    )
    reviews = pd.DataFrame(
        {
            "review_id": [f"r{i}" for i in range(len(raw))],
            "user_id": raw["reviewerID"].to_numpy(),
            "item_id": raw["asin"].to_numpy(),
            "rating": raw["overall"].astype(int).to_numpy(),
            "text": raw["reviewText"].fillna("").astype(str).to_numpy(),
            "title": raw["summary"].fillna("").astype(str).to_numpy(),
            "timestamp": pd.to_datetime(raw["unixReviewTime"], unit="s", utc=True),
        }
    )
    return StoreData(items=items, reviews=reviews)


@pytest.fixture(scope="session")
def gift_store(shared_data: Path) -> StoreData:
    return gift_cards_store(shared_data)


@pytest.fixture(scope="session")
def gift_dataset(gift_store: StoreData) -> InteractionDataset:
    return InteractionDataset.from_store(gift_store)


@pytest.fixture(scope="session")
def planted() -> tuple[InteractionDataset, Planted]:
    """The planted store as a dataset, checked to have the structure its known answer relies on."""
    store, answer = planted_store()
    ds = InteractionDataset.from_store(store)
    pop = ds.item_popularity()
    for cluster, items in answer.clusters.items():
        p = ds.item_index[answer.planted[cluster]]
        others = [ds.item_index[i] for i in items if i != answer.planted[cluster]]
        assert pop[p] == len(answer.members[cluster]) - 1 and pop[p] > pop[others].max()
        t = ds.user_index[answer.target[cluster]]
        assert {str(ds.item_ids[i]) for i in ds.user_items(t)} == items - {answer.planted[cluster]}
        for user in answer.members[cluster]:
            assert {str(ds.item_ids[i]) for i in ds.user_items(ds.user_index[user])} <= items
    # The coffee planted item is the most popular item, the music one the second (popularity's answer).
    ranked = [str(ds.item_ids[i]) for i in np.argsort(-pop, kind="stable")]
    assert ranked[:2] == [answer.most_popular, answer.planted["music"]]
    assert pop[ds.item_index[ranked[0]]] > pop[ds.item_index[ranked[1]]] > pop[ds.item_index[ranked[2]]]
    return ds, answer
