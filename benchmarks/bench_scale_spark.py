"""Fit time and peak memory, single-node vs Spark ``local[2]``, on the synthetic scale store (about 1M
interactions by default; the store of bench_recommend_scale.py, same seed and hyperparameters).

Each (engine, model) runs in a fresh subprocess. Single-node: ``model.fit(dataset)``. Spark: the Spark job of
``shopsense.scale.models`` from the interaction rows already in Spark to the fitted model on the driver.
Peak memory is the largest total RSS of the process tree seen by a 0.2 s sampler (driver Python + JVM +
Python workers for Spark), so the two are compared alike.

    .venv/bin/python benchmarks/bench_scale_spark.py [--users 50000 --items 17000 --interactions 1000000
        --models popular,itemknn,ease,als --engines single,spark --json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

from bench_recommend_scale import DEFAULT_PARAMS, generate_store, run_child, write_rows  # noqa: E402

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree_rss(root: int) -> int:
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * _PAGE
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(p for p, parent in parents.items() if parent == pid)
    return total


class PeakSampler(threading.Thread):
    """Largest RSS of this process and all its descendants, sampled every 0.2 s."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, _tree_rss(os.getpid()))
            time.sleep(0.2)


def run_one(engine: str, name: str, args: argparse.Namespace) -> dict:
    sampler = PeakSampler()
    sampler.start()
    store = generate_store(args.users, args.items, args.interactions, seed=args.seed)
    params = DEFAULT_PARAMS[name]
    out = {"engine": engine, "model": name, "params": params}
    if engine == "single":
        from shopsense.recommend.catalogue import model_class
        from shopsense.recommend.dataset import InteractionDataset

        ds = InteractionDataset.from_store(store)
        start = time.perf_counter()
        model_class(name)(**params).fit(ds)
        out["fit_s"] = round(time.perf_counter() - start, 2)
        out["n_pairs"] = int(ds.matrix.nnz)
    else:
        from shopsense.scale.load import from_store_data
        from shopsense.scale.models import fit_als, fit_model, train_data
        from shopsense.scale.session import spark_session, where
        from shopsense.scale.train import serving_rows

        spark = spark_session(args.master, "bench-scale", conf={"spark.ui.showConsoleProgress": "false",
                                                               "spark.driver.memory": args.driver_memory})
        spark.sparkContext.setLogLevel("ERROR")
        out["where"] = where(spark)
        sstore = from_store_data(spark, store)
        rows = serving_rows(sstore).cache()
        data = train_data(spark, sstore.items, rows, rows)
        out["n_pairs"] = data.rows.count()
        start = time.perf_counter()
        if name == "als":
            fit_als(data, **params)
        else:
            fit_model(name, data, params)
        out["fit_s"] = round(time.perf_counter() - start, 2)
        spark.stop()
    sampler.running = False
    sampler.join()
    out["peak_rss_mb"] = round(sampler.peak / 2**20, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=17_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default="popular,itemknn,ease,als")
    parser.add_argument("--engines", default="single,spark")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--one", nargs=2, default=None, help=argparse.SUPPRESS)  # internal: ENGINE MODEL
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], args)))
        return
    rows = []
    for name in args.models.split(","):
        for engine in args.engines.split(","):
            cmd = [sys.executable, __file__, "--one", engine, name, "--users", str(args.users), "--items",
                   str(args.items), "--interactions", str(args.interactions), "--seed", str(args.seed),
                   "--master", args.master, "--driver-memory", args.driver_memory]
            rows.append(run_child(cmd, {"engine": engine, "model": name}))
    write_rows(rows, args.json)

if __name__ == "__main__":
    main()
