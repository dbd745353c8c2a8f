"""Every recommender and baseline on the three benchmark stores, under the evaluation protocol.

Builds the stores with ``scripts/build_benchmark_stores.py`` when ``--stores DIR`` does not hold them
yet, reads each exactly as ``shopsense evaluate recommend`` does, and prints per store: test NDCG@10 ±
standard error, Recall@10, MRR@10, coverage@10, mean popularity rank, fit time and the hyperparameters
chosen on validation, then the cold-start and RMSE rows. ``--json OUT`` writes
``{store: compare_models(...).to_json()}``.

    .venv/bin/python benchmarks/bench_recommend.py [--stores DIR] [--only gift-cards,musical-instruments]
        [--models popular,itemknn,...] [--skip-cold] [--skip-rating] [--json OUT]

Published figures to compare with (different splits, so only indicative): Microsoft Recommenders
(MovieLens-100k, random 75/25): BPR NDCG@10 0.442; RecBole BPR on ML-1M (8:1:1): NDCG@10 0.240.
Most-popular floors measured on these stores with leave-last-out: Musical Instruments HR@10 0.078 /
NDCG@10 0.044; MovieLens latest-small 0.043 / 0.019.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

REPO = Path(__file__).resolve().parents[1]
STORES = ("gift-cards", "musical-instruments", "movielens-small")


def load(folder: Path):  # noqa: ANN201 - StoreData, imported lazily
    """Read a store directory the way the CLI does (validated, text cleaned and masked, all rows kept)."""
    from shopsense.core.loaders import load_store_dir
    from shopsense.core.preprocess import prepare_store
    from shopsense.core.validation import format_problem

    result = load_store_dir(folder)
    if result.report.errors:
        raise SystemExit(f"{folder}: " + "; ".join(format_problem(p) for p in result.report.errors[:5]))
    return prepare_store(result.store, dedupe=False)[0]


def ensure_stores(stores: Path, names: list[str]) -> None:
    missing = [n for n in names if not (stores / n).is_dir()]
    if missing:
        cmd = [sys.executable, str(REPO / "scripts" / "build_benchmark_stores.py"), "--out", str(stores)]
        print("building benchmark stores:", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)


def _line(name: str, r: dict) -> str:
    if "error" in r and "ndcg@10" not in r:
        return f"  {name:13s} error: {r['error']}"
    return (
        f"  {name:13s} NDCG@10 {r['ndcg@10']:.4f} ± {r['ndcg@10_se']:.4f}  Recall@10 {r['recall@10']:.4f} ± "
        f"{r['recall@10_se']:.4f}  MRR@10 {r['mrr@10']:.4f}  cov {r['coverage@10']:.3f}  "
        f"poprank {r['mean_pop_rank']:.0f}  fit {r['fit_time_s']:.2f}s  tune {r['tune_time_s']:.0f}s  "
        f"{r['params']}"
    )


def main() -> None:
    from shopsense.recommend.evaluation import all_specs, compare_models

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stores", type=Path, default=REPO / ".shopsense" / "benchmark-stores")
    parser.add_argument("--only", default=",".join(STORES))
    parser.add_argument("--models", default=None, help="comma-separated model names (default: all)")
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--skip-rating", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    ensure_stores(args.stores, names)
    specs = all_specs()
    if args.models:
        specs = [s for s in specs if s.name in args.models.split(",")]
    out: dict[str, dict] = {}
    for name in names:
        start = time.perf_counter()
        store = load(args.stores / name)
        res = compare_models(
            store, specs, seed=args.seed, cold_start=not args.skip_cold, rating=not args.skip_rating
        )
        payload = res.to_json()
        payload["_meta"]["total_s"] = round(time.perf_counter() - start, 1)
        out[name] = payload
        print(f"{name}: {res.data}  ({payload['_meta']['total_s']}s)", flush=True)
        for model, r in payload.items():
            if model != "_meta":
                print(_line(model, r), flush=True)
        for model, r in payload["_meta"]["cold_start_items"].items():
            shown = (
                f"NDCG@10 {r['ndcg@10']:.4f} ± {r['ndcg@10_se']:.4f}" if r.get("ndcg@10") is not None else ""
            )
            print(f"  cold-start {model:13s} {shown} {r['note']}", flush=True)
        for model, r in payload["_meta"]["rating"].items():
            shown = f"RMSE {r['rmse']:.4f} ± {r['rmse_se']:.4f}" if r.get("rmse") is not None else ""
            print(f"  rating     {model:13s} {shown} {r['note']}", flush=True)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
