"""The SQLAlchemy store on SQLite: import, re-import, load and event-append speed on real data.

MovieLens latest-small (9.7k movies, 100,836 ratings, real users) becomes a store (movies as items with
their genres as the category and an extra column, ratings as ``rating`` interactions with the stars as
value); the script times a first import into an empty SQLite file, the same import again (unchanged:
content hash only), an import of changed data (every row replaced), ``load()``, appending 10,000 events
in batches of 100, and the whole ``shopsense import`` of the bundled demo store (validation, cleaning,
PII masking, dedupe, import). Each figure is the median of ``--repeats`` runs.

    .venv/bin/python benchmarks/bench_store.py [--repeats 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd

from shopsense.core.records import StoreData
from shopsense.core.store import Store, import_directory

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "movielens-latest-small"
DEMO = Path(__file__).resolve().parents[1] / "src" / "shopsense" / "data" / "demo_store"


def movielens_store() -> StoreData:
    movies = pd.read_csv(DATA / "movies.csv", dtype={"movieId": str})
    ratings = pd.read_csv(DATA / "ratings.csv", dtype={"userId": str, "movieId": str})
    items = pd.DataFrame({
        "item_id": movies["movieId"], "title": movies["title"], "description": "",
        "category": movies["genres"].str.replace("|", " > ", regex=False), "brand": "", "price": float("nan"),
        "currency": "", "attributes": [{"genres": g.split("|")} for g in movies["genres"]], "image_url": "",
        "year": movies["title"].str.extract(r"\((\d{4})\)\s*$")[0],
    })
    inter = pd.DataFrame({
        "user_id": "ml" + ratings["userId"], "item_id": ratings["movieId"],
        "timestamp": pd.to_datetime(ratings["timestamp"], unit="s", utc=True), "event": "rating",
        "value": ratings["rating"].astype("float64"),
    })
    return StoreData(items=items, interactions=inter)


def timed(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    data = movielens_store()
    halved = data.interactions.assign(value=data.interactions["value"] / 2)
    changed = StoreData(items=data.items, interactions=halved)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "store.db"
        url = f"sqlite:///{db}"

        def fresh() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)

        firsts = []
        for _ in range(args.repeats):  # into a new, empty database file each time
            fresh()
            with Store(url) as store:
                firsts.append(timed(lambda: store.import_store(data), 1))  # noqa: B023 - called right here
        first = statistics.median(firsts)
        with Store(url) as store:
            same = timed(lambda: store.import_store(data), args.repeats)
            assert store.import_store(data).unchanged
            replace = timed(lambda: (store.import_store(changed), store.import_store(data)), args.repeats) / 2
            load = timed(store.load, args.repeats)
            events = [{"user_id": f"u{i % 500}", "item_id": str(i % 900), "type": "view"}
                      for i in range(10_000)]
            batches = [events[i:i + 100] for i in range(0, len(events), 100)]
            append = timed(lambda: [store.append_events(b) for b in batches], args.repeats)
            db_mb = db.stat().st_size / 1e6
        with Store(f"sqlite:///{Path(tmp) / 'demo.db'}") as demo_store:
            demo = timed(lambda: import_directory(DEMO, demo_store), 1)
            demo_counts = demo_store.counts()
    n = len(data.interactions)
    figures = {
        "benchmark": "store", "date": date.today().isoformat(), "machine": platform.platform(),
        "cpus": os.cpu_count(), "repeats": args.repeats,
        "data": {"source": "movielens-latest-small", "items": len(data.items), "interactions": n},
        "import_first_s": round(first, 3), "import_rows_per_s": round((n + len(data.items)) / first),
        "reimport_unchanged_s": round(same, 3), "import_replace_s": round(replace, 3),
        "load_s": round(load, 3), "append_events_10k_in_batches_of_100_s": round(append, 3),
        "database_mb": round(db_mb, 1),
        "demo_import_directory_s": round(demo, 3), "demo_counts": demo_counts,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        tmp_out = args.json.with_suffix(args.json.suffix + ".tmp")
        tmp_out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
        tmp_out.replace(args.json)


if __name__ == "__main__":
    main()
