"""Load benchmark of ``GET /v1/recommendations`` on loopback: throughput, p50/p99 latency, errors; then the
same while ``shopsense retrain --promote`` folds new events in and the server hot-reloads the new version.

    .venv/bin/python benchmarks/bench_api_load.py [--home DIR] [--seconds 20] [--concurrency 8] [--json OUT]

Without --home it prepares a workspace from the bundled demo store under .shopsense/bench-api (import +
train, reusing the embedding cache there on later runs). The load generator is an asyncio httpx loop in
this process (closed loop: ``concurrency`` clients, each sending its next request when the last answered),
and the server is a real ``shopsense serve`` (uvicorn, one worker) in a subprocess.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from shopsense.core.settings import get_settings  # noqa: E402
from shopsense.core.store import Store, import_directory  # noqa: E402
from shopsense.data import demo_store_path  # noqa: E402
from shopsense.registry import Registry  # noqa: E402
from shopsense.serving.training import RECOMMENDER, train_recommenders  # noqa: E402
from workspace_fixture import API_KEY, free_port, start_server  # noqa: E402

BACKEND = {"X-API-Key": API_KEY}


def prepare(home: Path) -> list[str]:
    settings = get_settings(home)
    settings.ensure_dirs()
    with Store.from_settings(settings) as store:
        import_directory(demo_store_path(), store)
        users = sorted(set(store.load().all_interactions()["user_id"].astype(str)))
    if Registry(settings.artifacts_dir).production_version(RECOMMENDER) is None:
        train_recommenders(settings, multilingual=False, validate=False, promote=True)
    return users


async def load(base: str, users: list[str], seconds: float, concurrency: int, proc: subprocess.Popen | None = None,
               ) -> dict:
    """Run for ``seconds``; with ``proc``, also until it has exited and the server serves the version it
    published (at most 120 s more)."""
    latencies: list[float] = []
    errors = 0
    versions: set[str] = set()
    rng = random.Random(7)
    stop = time.perf_counter() + seconds
    ended: list[float] = []

    def running() -> bool:
        now = time.perf_counter()
        if proc is not None and proc.poll() is None:
            return True
        if proc is not None and not ended:
            ended.append(now)
        waiting = proc is not None and len(versions) < 2 and now < ended[0] + 120
        return now < stop or waiting

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        while running():
            # 80% known users, 20% unknown ones (the cold-start path)
            user = rng.choice(users) if rng.random() < 0.8 else f"bench-new-{rng.randrange(10**6)}"
            t0 = time.perf_counter()
            try:
                r = await http.get("/v1/recommendations", params={"user_id": user, "k": 10})
                ok = r.status_code == 200 and len(r.json()["items"]) == 10
                if ok:
                    versions.add(r.json()["model_version"])
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - t0)
            errors += not ok

    start = time.perf_counter()
    # The store's backend asks for its shoppers' lists with the admin key (a browser would send each shopper's
    # token); rate limits do not apply to it.
    async with httpx.AsyncClient(base_url=base, timeout=30, headers=BACKEND) as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    wall = time.perf_counter() - start
    lat = np.asarray(latencies) * 1000
    return {"requests": len(lat), "errors": errors, "seconds": round(wall, 2),
            "throughput_rps": round(len(lat) / wall, 1), "p50_ms": round(float(np.percentile(lat, 50)), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2), "max_ms": round(float(lat.max()), 2),
            "versions_served": sorted(versions)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, default=REPO / ".shopsense" / "bench-api")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    users = prepare(args.home)
    port = free_port()
    server = start_server(args.home, port, env={"SHOPSENSE_API_KEY": API_KEY})
    base = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(load(base, users, 3, args.concurrency))  # warm up
        steady = asyncio.run(load(base, users, args.seconds, args.concurrency))
        print(f"steady:        {json.dumps(steady)}")
        # events for new users, then a retrain that publishes and promotes while the load runs
        with httpx.Client(base_url=base, headers=BACKEND) as http:
            events = [{"user_id": f"bench-fold-{n}", "type": "click", "item_id": u}
                      for n, u in enumerate(http.get("/v1/trending", params={"k": 20}).json()["items"])]
            http.post("/v1/events", json={"events": [{**e, "item_id": e["item_id"]["item_id"]} for e in events]})
        retrain = subprocess.Popen([sys.executable, "-c", "from shopsense.cli import main; main()", "retrain",
                                    "--promote", "--home", str(args.home)], env=os.environ.copy(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        during = asyncio.run(load(base, users, args.seconds, args.concurrency, retrain))
        retrain.wait()
        during["retrain_exit_code"] = retrain.returncode
        print(f"during retrain: {json.dumps(during)}")
    finally:
        server.terminate()
        server.wait(30)
    result = {"endpoint": "/v1/recommendations?k=10", "concurrency": args.concurrency, "cpus": os.cpu_count(),
              "steady": steady, "during_retrain": during}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
