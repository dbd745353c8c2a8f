"""The planted store: a small synthetic store whose recommendations have a known answer.

The recommender contract (``contract.py``) runs on it, so it needs no external data and never skips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopsense.core.records import StoreData

_COFFEE = [  # (title, category, price); the last one is the planted item of the cluster
    ("Dark roast coffee beans", "Coffee > Beans", 14.0),
    ("Espresso coffee beans, whole bean", "Coffee > Beans", 16.0),
    ("Colombian single-origin coffee beans", "Coffee > Beans", 18.0),
    ("Decaf coffee beans, medium roast", "Coffee > Beans", 13.0),
    ("Burr coffee grinder", "Coffee > Gear", 45.0),
    ("French press coffee maker", "Coffee > Gear", 30.0),
    ("Pour-over coffee dripper", "Coffee > Gear", 22.0),
    ("Home espresso machine", "Coffee > Gear", 120.0),
    ("Milk frother for cappuccino and latte", "Coffee > Gear", 25.0),
    ("Ceramic coffee mug", "Coffee > Gear", 10.0),
    ("Paper coffee filters", "Coffee > Gear", 5.0),
    ("Coffee tasting set: six single-origin roasts", "Coffee > Beans", 40.0),
]
_MUSIC = [
    ("Jazz classics vinyl record", "Music > Vinyl", 24.0),
    ("Rock anthems vinyl LP", "Music > Vinyl", 26.0),
    ("Blues vinyl record, remastered", "Music > Vinyl", 22.0),
    ("Classical symphonies on vinyl", "Music > Vinyl", 28.0),
    ("Turntable record player", "Music > Audio", 150.0),
    ("Studio headphones for music", "Music > Audio", 90.0),
    ("Bluetooth speaker for music", "Music > Audio", 60.0),
    ("Record cleaning kit for vinyl", "Music > Audio", 15.0),
    ("Phono preamp for turntables", "Music > Audio", 70.0),
    ("Vinyl record storage crate", "Music > Audio", 35.0),
    ("Guitar strings, light gauge", "Music > Audio", 8.0),
    ("Vinyl box set: the complete jazz collection", "Music > Vinyl", 95.0),
]


@dataclass(frozen=True)
class Planted:
    """The known answer of :func:`planted_store`.

    Two disjoint clusters (coffee shoppers buy only coffee items, music shoppers only music items). In each
    cluster a *planted* item is bought by every member but one, the *target*, who bought every other item
    of the cluster. So for the target the planted item is the one unseen item of their own cluster, and
    every sensible personalised model ranks it first; the coffee planted item is also the most popular
    item overall (the coffee cluster is larger), so popularity ranks it first for everyone who lacks it.
    """

    clusters: dict[str, frozenset[str]]   # cluster name -> its item ids
    members: dict[str, tuple[str, ...]]   # cluster name -> its user ids
    planted: dict[str, str]               # cluster name -> planted item id
    target: dict[str, str]                # cluster name -> the one member without the planted item
    category: dict[str, str]              # cluster name -> the top category segment of its items

    def cluster_of_item(self, item_id: str) -> str:
        return next(c for c, items in self.clusters.items() if item_id in items)

    @property
    def most_popular(self) -> str:
        return self.planted["coffee"]

    def regular(self, cluster: str, n: int) -> list[str]:
        """``n`` members of ``cluster`` other than the target (they have the planted item)."""
        return [u for u in self.members[cluster] if u != self.target[cluster]][:n]


def planted_store() -> tuple[StoreData, Planted]:
    """A small synthetic store with a known answer (see :class:`Planted`); deterministic."""
    rng = np.random.default_rng(7)
    items, inter, reviews = [], [], []
    clusters, members, planted, target, category = {}, {}, {}, {}, {}
    base = pd.Timestamp("2024-03-01", tz="UTC")
    for name, prefix, catalog, n_users in (("coffee", "A", _COFFEE, 16), ("music", "B", _MUSIC, 14)):
        ids = [f"{prefix}{n:02d}" for n in range(1, len(catalog) + 1)]
        for item_id, (title, cat, price) in zip(ids, catalog, strict=True):
            items.append({"item_id": item_id, "title": title, "description": f"{title}. For {name} lovers.",
                          "category": cat, "brand": f"{name.title()} Co", "price": price, "currency": "USD",
                          "attributes": {}, "image_url": ""})
        users = [f"{name}-{n:02d}" for n in range(n_users)]
        clusters[name], members[name] = frozenset(ids), tuple(users)
        planted[name], target[name], category[name] = ids[-1], users[0], name.title()
        for u, user in enumerate(users):
            if u == 0:  # the target: everything of the cluster but the planted item
                bought = ids[:-1]
            else:  # a random 3-6 of the other items, plus the planted one
                others = rng.choice(ids[:-1], size=int(rng.integers(3, 7)), replace=False)
                bought = [*sorted(others), ids[-1]]
            for item_id in bought:
                # One event per (user, item): a purchase, or a (happy) review, never both, so an
                # item's event count is its number of buyers.
                ts = base + pd.Timedelta(seconds=int(rng.integers(0, 10 * 86_400)))
                if rng.random() < 0.4:
                    title = catalog[ids.index(item_id)][0]
                    reviews.append({"review_id": f"r{len(reviews)}", "user_id": user, "item_id": item_id,
                                    "rating": int(rng.integers(4, 6)), "title": "Great",
                                    "text": f"Great {title.lower()}, exactly what I wanted.", "timestamp": ts})
                else:
                    inter.append({"user_id": user, "item_id": item_id, "timestamp": ts, "event": "purchase",
                                  "value": np.nan})
    store = StoreData(items=pd.DataFrame(items), interactions=pd.DataFrame(inter), reviews=pd.DataFrame(reviews))
    return store, Planted(clusters, members, planted, target, category)


