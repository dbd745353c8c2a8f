"""In-process recommend latency (one user, p50/p99) and batch throughput over a 10k+ item catalog.

Uses the seeded synthetic shop of ``bench_recommend_scale.py`` (default 17,000 items, 20,000 users,
400k interactions; MovieLens latest-small has only 9,742 items). Each model is fitted once with fixed
hyperparameters, then ``recommend(user, k=10)`` is timed for ``--calls`` users drawn with a fixed seed
(after a warm-up), with and without a category + price filter, and ``recommend_batch`` for throughput.

    .venv/bin/python benchmarks/bench_recommend_latency.py [--items 17000 --users 20000
        --interactions 400000 --calls 2000 --models popular,itemknn,ease,als,bpr --json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from bench_recommend_scale import DEFAULT_PARAMS, generate_store  # noqa: E402

from shopsense.recommend.base import Filters  # noqa: E402
from shopsense.recommend.dataset import InteractionDataset  # noqa: E402
from shopsense.recommend.evaluation import default_specs  # noqa: E402


def _percentiles(samples: list[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1000.0
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "mean_ms": round(float(ms.mean()), 3),
    }


def measure(name: str, ds: InteractionDataset, calls: int, seed: int) -> dict:
    spec = {s.name: s for s in default_specs()}[name]
    model = spec.factory(**DEFAULT_PARAMS[name]).fit(ds)
    rng = np.random.default_rng(seed)
    users = [str(u) for u in ds.user_ids[rng.integers(0, ds.n_users, calls)]]
    cat = str(ds.item_category[0]).split(">")[0].strip()
    filt = Filters(category=cat, max_price=float(np.nanmedian(ds.item_price)))
    for u in users[:50]:  # warm-up: first-call allocations, caches
        model.recommend(u, k=10)
        model.recommend(u, k=10, filters=filt)
    plain, filtered = [], []
    for u in users:
        t = time.perf_counter()
        model.recommend(u, k=10)
        plain.append(time.perf_counter() - t)
    for u in users:
        t = time.perf_counter()
        model.recommend(u, k=10, filters=filt)
        filtered.append(time.perf_counter() - t)
    t = time.perf_counter()
    model.recommend_batch(users, k=10)
    batch_s = time.perf_counter() - t
    return {
        "model": name,
        "n_items": ds.n_items,
        "n_users": ds.n_users,
        "fit_s": round(model.fit_time_, 2),
        "recommend": _percentiles(plain),
        "recommend_filtered": _percentiles(filtered),
        "batch_users_per_s": round(len(users) / batch_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=17_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--interactions", type=int, default=400_000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default="popular,itemknn,ease,als,bpr")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    store = generate_store(args.users, args.items, args.interactions, seed=args.seed)
    ds = InteractionDataset.from_store(store)
    print(
        f"catalog {ds.n_items} items, {ds.n_users} users, {ds.matrix.nnz} interactions; cpus {os.cpu_count()}"
    )
    rows = []
    for name in args.models.split(","):
        rows.append(measure(name, ds, args.calls, args.seed))
        r = rows[-1]
        print(
            f"{name:8s} recommend p50 {r['recommend']['p50_ms']:.2f} ms  "
            f"p99 {r['recommend']['p99_ms']:.2f} ms  | "
            f"filtered p50 {r['recommend_filtered']['p50_ms']:.2f} ms  "
            f"p99 {r['recommend_filtered']['p99_ms']:.2f} ms"
            f"  | batch {r['batch_users_per_s']:.0f} users/s  (fit {r['fit_s']:.1f}s)",
            flush=True,
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
