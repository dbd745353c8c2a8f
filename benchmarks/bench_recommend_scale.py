"""Fit every CF model on a 50k-user x 17k-item store (about 1M interactions) and report time and peak memory.

The store is synthetic but shaped like a shop: power-law item popularity, log-normal user activity,
and 60 categories with each user mostly shopping in one (so there is structure for CF to find).
Each model is fitted in a fresh subprocess, so the peak RSS printed is that model's own.

    .venv/bin/python benchmarks/bench_recommend_scale.py [--users 50000 --items 17000
        --interactions 1000000 --models popular,itemknn,ease,als,bpr --json OUT]
    .venv/bin/python benchmarks/bench_recommend_scale.py --write-store DIR   # for `shopsense evaluate`
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from shopsense.core.records import StoreData  # noqa: E402

DEFAULT_PARAMS: dict[str, dict] = {
    "popular": {"half_life_days": 30.0},
    "itemknn": {"k_neighbors": 100, "shrinkage": 10.0},
    "ease": {"lambda_": 200.0},
    "als": {"factors": 64, "alpha": 5.0, "regularization": 0.05},
    "bpr": {"factors": 64, "learning_rate": 0.05, "regularization": 0.01},
}


def generate_store(
    n_users: int = 50_000,
    n_items: int = 17_000,
    n_interactions: int = 1_000_000,
    n_categories: int = 60,
    seed: int = 0,
) -> StoreData:
    """A seeded synthetic store: power-law popularity, one home category per user (70% of their events)."""
    rng = np.random.default_rng(seed)
    item_cat = rng.integers(0, n_categories, n_items)
    pop = 1.0 / np.power(rng.permutation(n_items) + 10.0, 0.9)  # Zipf-like popularity
    activity = rng.lognormal(0.0, 1.0, n_users)
    home = rng.integers(0, n_categories, n_users)
    draws = int(n_interactions * 1.35)  # headroom for duplicate pairs
    users = rng.choice(n_users, draws, p=activity / activity.sum())
    items = np.empty(draws, dtype=np.int64)
    in_home = rng.random(draws) < 0.7
    items[~in_home] = rng.choice(n_items, int((~in_home).sum()), p=pop / pop.sum())
    for c in range(n_categories):  # home-category draws per category
        members = np.flatnonzero(item_cat == c)
        sel = np.flatnonzero(in_home & (home[users] == c))
        if len(members) and len(sel):
            p = pop[members] / pop[members].sum()
            items[sel] = members[rng.choice(len(members), len(sel), p=p)]
    pairs = pd.DataFrame({"u": users, "i": items}).drop_duplicates().iloc[:n_interactions]
    t0 = pd.Timestamp("2024-01-01", tz="UTC").value // 10**9
    inter = pd.DataFrame(
        {
            "user_id": "u" + pairs["u"].astype(str),
            "item_id": "i" + pairs["i"].astype(str),
            "timestamp": pd.to_datetime(t0 + rng.integers(0, 365 * 86_400, len(pairs)), unit="s", utc=True),
            "event": rng.choice(["view", "click", "cart", "purchase"], len(pairs), p=[0.4, 0.3, 0.1, 0.2]),
            "value": np.nan,
        }
    )
    catalog = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(n_items)],
            "title": [f"Product {i}" for i in range(n_items)],
            "category": [f"Department {c // 10} > Category {c}" for c in item_cat],
            "price": np.round(rng.lognormal(3.0, 0.8, n_items), 2),
        }
    )
    return StoreData(items=catalog, interactions=inter)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def fit_one(name: str, args: argparse.Namespace) -> dict:
    from shopsense.recommend.dataset import InteractionDataset
    from shopsense.recommend.evaluation import default_specs

    start = time.perf_counter()
    store = generate_store(args.users, args.items, args.interactions, seed=args.seed)
    ds = InteractionDataset.from_store(store)
    build_s = time.perf_counter() - start
    spec = {s.name: s for s in default_specs()}[name]
    model = spec.factory(**DEFAULT_PARAMS[name]).fit(ds)
    sample = ds.user_ids[:: max(1, ds.n_users // 200)][:200]
    t = time.perf_counter()
    model.recommend_batch(list(sample), k=10)
    return {
        "model": name,
        "params": DEFAULT_PARAMS[name],
        "n_users": ds.n_users,
        "n_items": ds.n_items,
        "n_interactions": int(ds.matrix.nnz),
        "dataset_build_s": round(build_s, 2),
        "fit_s": round(model.fit_time_, 2),
        "recommend_200_users_s": round(time.perf_counter() - t, 3),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=17_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default="popular,itemknn,ease,als,bpr")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--write-store", type=Path, default=None,
                        help="only write the store as a directory (items.csv, interactions.csv)")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: fit one model, print JSON
    args = parser.parse_args()
    if args.write_store:
        store = generate_store(args.users, args.items, args.interactions, seed=args.seed)
        args.write_store.mkdir(parents=True, exist_ok=True)
        store.items.to_csv(args.write_store / "items.csv", index=False)
        inter = store.interactions.copy()
        inter["timestamp"] = inter["timestamp"].map(lambda t: t.isoformat())
        inter.drop(columns=["value"]).to_csv(args.write_store / "interactions.csv", index=False)
        print(f"wrote {args.write_store}: {len(store.items)} items, {len(inter)} interactions")
        return
    if args.one:
        print(json.dumps(fit_one(args.one, args)))
        return
    rows = []
    for name in args.models.split(","):
        cmd = [sys.executable, __file__, "--one", name, "--users", str(args.users), "--items", str(args.items),
               "--interactions", str(args.interactions), "--seed", str(args.seed)]
        rows.append(run_child(cmd, {"model": name}))
    write_rows(rows, args.json)


def run_child(cmd: list[str], label: dict) -> dict:
    """Run one measurement in a fresh process (its last stdout line is a JSON row) and print the row."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        row = {**label, "error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
    else:
        row = json.loads(proc.stdout.strip().splitlines()[-1])
    print(json.dumps(row), flush=True)
    return row


def write_rows(rows: list[dict], path: Path | None) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, indent=2))

if __name__ == "__main__":
    main()
