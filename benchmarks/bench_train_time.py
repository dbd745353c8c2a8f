"""Wall time of ``shopsense train`` (the one pipeline: recommender, search, NLP tasks, opinion index).

Three runs, each a fresh workspace, each ``shopsense import DIR`` then ``shopsense train`` as the README says:

1. the demo store with an empty machine-wide built-in cache (the intent head, and the sentiment head when
   the store has fewer than 2,000 reviews of its own, are trained from the packaged data once per machine);
2. the demo store again in a new workspace (both heads come from the cache);
3. a 200-item store cut from the demo (its items, and the reviews, interactions and orders on them).

Targets (issue 11): run 2 <= 3 minutes, run 3 <= 1 minute, on 2 cores.

    python benchmarks/bench_train_time.py [--out docs/bench_train_time.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from shopsense.data import demo_store_path


def shopsense(*args: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "from shopsense.cli import main; main()", *args],
                          env={**os.environ, **env}, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"shopsense {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started


def small_store(target: Path, n_items: int = 200) -> Path:
    """The demo's ``n_items`` most reviewed items and everything that refers to them."""
    source = demo_store_path()
    shutil.copytree(source, target)
    items = pd.read_csv(source / "items.csv", dtype=str, keep_default_na=False)
    reviews = pd.read_csv(source / "reviews.csv", dtype=str, keep_default_na=False)
    keep = reviews["item_id"].value_counts().index[:n_items]
    keep = list(keep) + [i for i in items["item_id"] if i not in set(keep)][: max(0, n_items - len(keep))]
    items[items["item_id"].isin(keep)].to_csv(target / "items.csv", index=False)
    reviews[reviews["item_id"].isin(keep)].to_csv(target / "reviews.csv", index=False)
    for name in ("interactions", "orders"):
        path = target / f"{name}.csv"
        if path.exists():
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            frame[frame["item_id"].isin(keep)].to_csv(path, index=False)
    return target


def run(store: Path, work: Path, cache: Path) -> dict[str, float]:
    home = work / f"home-{time.time_ns()}"
    env = {"SHOPSENSE_BUILTIN_CACHE": str(cache)}
    imported = shopsense("import", str(store), "--home", str(home), env=env)
    trained = shopsense("train", "--home", str(home), env=env)
    return {"import_s": round(imported, 1), "train_s": round(trained, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cache = work / "model-cache"
        small = small_store(work / "store-200")
        results = {
            "demo, empty model cache": run(demo_store_path(), work, cache),
            "demo, built-in heads cached": run(demo_store_path(), work, cache),
            "200-item store": run(small, work, cache),
        }
    report = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "results": results}
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
