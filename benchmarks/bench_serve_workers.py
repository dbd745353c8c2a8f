"""``shopsense serve --workers N``: memory per worker, and serving while the store retrains and promotes.

    .venv/bin/python benchmarks/bench_serve_workers.py [--workers 1 2 3] [--seconds 20] [--json OUT]

Memory: for each N, a real ``serve --workers N`` on the demo workspace (prepared like the test suite's, cached
under .shopsense/bench-ceiling), every worker warmed with recommendations, similar items, search and chat
turns; then each worker's RSS, PSS (its fair share of pages it shares with the others) and USS (pages only it
holds), read from /proc/PID/smaps_rollup. The goal: N workers together (sum of PSS) use less than 1.5x one
worker's RSS plus 200 MB per extra worker.

Retrain under load: ``serve --workers 2`` answers ``GET /v1/recommendations`` (80% known shoppers, wrk, 8
connections) for ``--seconds`` twice, alternating: once quietly, once while ``POST /v1/admin/retrain``
(promote) runs on that same server, wrk running in 10-second chunks from the job's start until 10 s after it
finished (the worst chunk's p95/p99, the median req/s); reported req/s, p50/p99, errors, and which model
versions answer after the promotion (every worker must have picked it up).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from bench_api_ceiling import HEADERS, HOME, LUA, MESSAGES, QUERIES, lua_list, workloads, wrk

from workspace_fixture import API_KEY, NO_LIMITS_ENV, free_port, prepared_workspace, start_server

ENV = {**NO_LIMITS_ENV, "SHOPSENSE_API_KEY": API_KEY}


def worker_pids(server_pid: int) -> list[int]:
    """The uvicorn worker processes of a ``serve --workers N`` (children running the app), or the server."""
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    workers = [int(c) for c in children if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
    return workers or [server_pid]


def memory(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) / 1024
    return {"rss": fields["Rss"], "pss": fields["Pss"],
            "uss": fields["Private_Clean"] + fields["Private_Dirty"]}


def warm(base: str, paths: list[str], rounds: int = 60) -> None:
    """New connections each time, so the kernel spreads them over every worker."""
    for n in range(rounds):
        with httpx.Client(base_url=base, headers=HEADERS, timeout=60) as http:
            http.get(paths[n % len(paths)])
            http.get(f"/v1/search?q={QUERIES[n % len(QUERIES)]}")
            http.post("/v1/chat", json={"message": MESSAGES[n % len(MESSAGES)]})


def measure_memory(counts: list[int], paths: list[str], folder: Path) -> dict[int, dict]:
    out = {}
    for n in counts:
        port = free_port()
        server = start_server(HOME, port, env=ENV, stderr=folder / f"memory-{n}.log", args=("--workers", str(n)))
        try:
            warm(f"http://127.0.0.1:{port}", paths)
            time.sleep(1)
            per_worker = [memory(pid) for pid in worker_pids(server.pid)]
        finally:
            server.terminate()
            server.wait(60)
        out[n] = {"workers": per_worker, "sum_pss": sum(w["pss"] for w in per_worker),
                  "sum_rss": sum(w["rss"] for w in per_worker)}
        rss = ", ".join(f"{w['rss']:.0f}" for w in per_worker)
        uss = ", ".join(f"{w['uss']:.0f}" for w in per_worker)
        print(f"{n} worker(s): RSS per worker {rss} MB; PSS sum {out[n]['sum_pss']:.0f} MB; USS per worker "
              f"{uss} MB", flush=True)
    return out


def retrain_under_load(paths: list[str], seconds: int, folder: Path) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(HOME, port, env=ENV, stderr=folder / "retrain.log", args=("--workers", "2"))
    script = folder / "recommendations.lua"
    script.write_text(LUA.replace("{PATHS}", lua_list(paths)).replace("{BODIES}", "{}")
                      .replace("METHOD", "GET").replace("KEY", API_KEY))
    try:
        warm(base, paths, rounds=20)
        before = httpx.get(f"{base}{paths[0]}", headers=HEADERS).json()["model_version"]
        quiet = wrk(base, script, seconds, 8)
        job: dict = {}

        def retrain() -> None:
            time.sleep(1)
            started = time.monotonic()
            record = httpx.post(f"{base}/v1/admin/retrain", headers=HEADERS, json={"promote": True}).json()
            while True:  # any worker answers for the job (its record is shared)
                record = httpx.get(f"{base}/v1/admin/jobs/{record['id']}", headers=HEADERS).json()
                if record["status"] in ("done", "failed"):
                    break
                time.sleep(0.5)
            job.update(record, seconds=time.monotonic() - started)

        thread = threading.Thread(target=retrain)
        thread.start()
        chunks = []  # wrk runs back to back from the retrain's start until after its promotion is served
        while thread.is_alive() or len(chunks) < 2:
            chunks.append(wrk(base, script, 10, 8))
            thread.join(0)
        chunks.append(wrk(base, script, 10, 8))
        busy = {"rps": statistics.median(c["rps"] for c in chunks), "p50": statistics.median(c["p50"] for c in chunks),
                "p95": max(c["p95"] for c in chunks), "p99": max(c["p99"] for c in chunks),
                "errors": sum(c["errors"] for c in chunks), "non2xx": sum(c["non2xx"] for c in chunks),
                "seconds": sum(c["seconds"] for c in chunks), "chunks": chunks}
        after = set()
        for n in range(40):
            with httpx.Client(base_url=base, headers=HEADERS) as http:  # new connections: every worker
                after.add(http.get(paths[n % len(paths)]).json()["model_version"])
    finally:
        server.terminate()
        server.wait(60)
    result = {"quiet": quiet, "during_retrain": busy, "job_status": job.get("status"),
              "job_seconds": job.get("seconds"), "version_before": before, "versions_after": sorted(after)}
    for name in ("quiet", "during_retrain"):
        r = result[name]
        print(f"{name:15s} {r['rps']:7.0f} req/s p50 {r['p50']:6.1f} p95 {r['p95']:6.1f} p99 {r['p99']:6.1f} ms "
              f"errors {r['errors'] + r['non2xx']}", flush=True)
    print(f"retrain {job.get('status')} in {job.get('seconds', 0):.0f} s; version {before} before, "
          f"{sorted(after)} answering after", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", nargs="*", type=int, default=[1, 2, 3])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--skip-retrain", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not (HOME / "store.db").exists():
        print("preparing the demo workspace (first run only)…", flush=True)
        prepared_workspace(HOME)
    paths = workloads(HOME)["recommendations"][1]
    folder = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    results: dict = {"memory": measure_memory(args.workers, paths, folder)}
    one = results["memory"].get(1)
    if one:
        for n, row in results["memory"].items():
            goal = 1.5 * one["workers"][0]["rss"] + 200 * (n - 1)
            row["goal_mb"] = goal
            print(f"{n} worker(s): {row['sum_pss']:.0f} MB in all (PSS) vs goal {goal:.0f} MB "
                  f"({'met' if row['sum_pss'] < goal else 'NOT met'}); median RSS per worker "
                  f"{statistics.median(w['rss'] for w in row['workers']):.0f} MB")
    if not args.skip_retrain:
        results["retrain"] = retrain_under_load(paths, args.seconds, folder)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
