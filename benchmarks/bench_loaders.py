"""Store-directory loading speed on real data: MovieLens latest-small (100,836 ratings, 9,742 movies).

The ratings become ``interactions`` (event ``rating``, unix-seconds timestamps) and the movies
``items``; the store is written as CSV, JSONL and parquet, then loaded with full validation. A fourth
run plants a bad value in 1% of the CSV interaction rows to show the cost of row-level messages.
Best of ``--repeat`` runs (the machine is shared), in seconds.

    .venv/bin/python benchmarks/bench_loaders.py [--repeat 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from shopsense.core.loaders import load_store_dir

MOVIELENS = Path(__file__).resolve().parents[2] / "shared" / "data" / "movielens-latest-small"


def build(root: Path) -> dict[str, Path]:
    ratings = pd.read_csv(MOVIELENS / "ratings.csv", dtype={"userId": str, "movieId": str})
    movies = pd.read_csv(MOVIELENS / "movies.csv", dtype={"movieId": str})
    items = pd.DataFrame({"item_id": movies["movieId"], "title": movies["title"],
                          "category": movies["genres"].str.replace("|", " > ", regex=False)})
    inter = pd.DataFrame({"user_id": ratings["userId"], "item_id": ratings["movieId"],
                          "timestamp": ratings["timestamp"], "event": "rating", "value": ratings["rating"]})
    dirs = {fmt: root / fmt for fmt in ("csv", "jsonl", "parquet", "csv-1pct-bad")}
    for fmt, d in dirs.items():
        d.mkdir()
        if fmt == "parquet":
            items.to_parquet(d / "items.parquet", index=False)
            inter.to_parquet(d / "interactions.parquet", index=False)
        elif fmt == "jsonl":
            items.to_json(d / "items.jsonl", orient="records", lines=True, force_ascii=False)
            inter.to_json(d / "interactions.jsonl", orient="records", lines=True)
        else:
            items.to_csv(d / "items.csv", index=False)
            frame = inter.astype({"timestamp": str, "value": str})
            if fmt == "csv-1pct-bad":
                bad = np.random.default_rng(42).choice(len(frame), size=len(frame) // 100, replace=False)
                frame.loc[bad[0::3], "timestamp"] = "yesterday"
                frame.loc[bad[1::3], "item_id"] = "no-such-movie"
                frame.loc[bad[2::3], "value"] = "good"
            frame.to_csv(d / "interactions.csv", index=False)
    return dirs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, d in build(Path(tmp)).items():
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                result = load_store_dir(d)
                times.append(time.perf_counter() - start)
            report = result.report
            results[fmt] = {
                "seconds_best": round(min(times), 3), "seconds_all": [round(t, 3) for t in times],
                "rows_read": sum(t.rows_read for t in report.tables.values()),
                "rows_kept": sum(t.rows_kept for t in report.tables.values()),
                "errors": len(report.errors),
            }
            r = results[fmt]
            rate = r["rows_read"] / r["seconds_best"]
            print(f"{fmt:14s} {r['rows_read']:>7d} rows read  {r['rows_kept']:>7d} kept  {r['errors']:>5d} "
                  f"errors  best {r['seconds_best']:.2f} s  ({rate:,.0f} rows/s)")
    payload = {"benchmark": "store-directory loading, MovieLens latest-small", "results": results,
               "cpus": os.cpu_count(), "python": platform.python_version(), "pandas": pd.__version__}
    if args.json:
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
