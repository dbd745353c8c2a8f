"""``shopsense serve --workers N``: memory per worker, and serving while the store retrains and promotes.

    .venv/bin/python benchmarks/bench_serve_workers.py [--workers 1 2 3] [--seconds 20] [--json OUT]

Memory: for each N, a real ``serve --workers N`` on the demo workspace (prepared like the test suite's, cached
under .shopsense/bench-ceiling), every worker warmed with recommendations, similar items, search and chat
turns; then each worker's RSS, PSS (its fair share of pages it shares with the others) and USS (pages only it
holds), read from /proc/PID/smaps_rollup. The goal: N workers together, and the master that forked them (sum
of PSS), use less than 1.5x one worker's RSS plus 200 MB per extra worker.

Retrain under load (``--retrain-workers``, default 2): ``serve --workers 2`` and the bare FastAPI endpoint
serving the same bytes from as many uvicorn workers answer ``GET /v1/recommendations`` (80% known shoppers,
wrk, 8 connections): first quietly, one after the other; then ours while ``POST /v1/admin/retrain`` (promote, a
full refit) runs on that same server, and the bare one while ``shopsense retrain --promote --full`` does the
same work on a copy of the workspace, so both sides share the machine with one retrain. Busy phases run wrk in
10-second chunks from the retrain's start until 10 s after it finished (the worst chunk's p95/p99, the median
req/s).
Reported: req/s, p50/p99, errors and the ratios, and which model versions answer after the promotion (every
worker must have picked it up).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from bench_api_ceiling import HEADERS, HOME, LUA, MESSAGES, QUERIES, lua_list, side_by_side, workloads, wrk

from workspace_fixture import API_KEY, NO_LIMITS_ENV, free_port, prepared_workspace, start_server

ENV = {**NO_LIMITS_ENV, "SHOPSENSE_API_KEY": API_KEY}


def server_processes(server_pid: int) -> tuple[list[int], list[int]]:
    """(the workers, the master) of a ``serve --workers N``: the master forks the workers, which share its
    pages, so its memory counts too; with one worker the server process is the worker and there is no master."""
    children = [int(c) for c in Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()]
    return (children, [server_pid]) if children else ([server_pid], [])


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
            workers, master = server_processes(server.pid)
            per_worker, per_master = [memory(pid) for pid in workers], [memory(pid) for pid in master]
        finally:
            server.terminate()
            server.wait(60)
        everyone = per_worker + per_master
        out[n] = {"workers": per_worker, "master": per_master, "sum_pss": sum(w["pss"] for w in everyone),
                  "sum_rss": sum(w["rss"] for w in everyone)}
        rss = ", ".join(f"{w['rss']:.0f}" for w in per_worker)
        uss = ", ".join(f"{w['uss']:.0f}" for w in per_worker)
        master_note = f"; master PSS {per_master[0]['pss']:.0f} MB (counted)" if per_master else ""
        print(f"{n} worker(s): RSS per worker {rss} MB; PSS sum {out[n]['sum_pss']:.0f} MB; USS per worker "
              f"{uss} MB{master_note}", flush=True)
    return out


def _chunks_while(busy: threading.Thread | subprocess.Popen, base: str, script: Path) -> dict:
    """wrk in 10-second chunks from now until ``busy`` has finished, then one chunk more: the median req/s
    and p50, the worst chunk's p95/p99, all the errors."""
    chunks = []
    running = busy.is_alive if isinstance(busy, threading.Thread) else (lambda: busy.poll() is None)
    while running() or len(chunks) < 2:
        chunks.append(wrk(base, script, 10, 8))
    chunks.append(wrk(base, script, 10, 8))
    return {"rps": statistics.median(c["rps"] for c in chunks), "p50": statistics.median(c["p50"] for c in chunks),
            "p95": max(c["p95"] for c in chunks), "p99": max(c["p99"] for c in chunks),
            "errors": sum(c["errors"] + c["non2xx"] for c in chunks),
            "seconds": sum(c["seconds"] for c in chunks), "chunks": chunks}


def _quiet(base: str, script: Path, seconds: int) -> dict:
    r = wrk(base, script, seconds, 8)
    return r | {"errors": r["errors"] + r["non2xx"]}


def retrain_under_load(paths: list[str], seconds: int, folder: Path, workers: int = 2) -> dict:
    """Ours (``serve --workers N``, the retrain a job of its own) and the bare endpoint (as many uvicorn
    workers, the same retrain run by ``shopsense retrain`` on a copy of the workspace), quiet and busy."""
    script = folder / "recommendations.lua"
    script.write_text(LUA.replace("{PATHS}", lua_list(paths)).replace("{BODIES}", "{}")
                      .replace("METHOD", "GET").replace("KEY", API_KEY))

    def capture(base: str) -> None:
        warm(base, paths, rounds=20)
        (folder / "recommendations.json").write_bytes(httpx.get(f"{base}{paths[0]}", headers=HEADERS).content)

    job: dict = {}
    with side_by_side(folder, capture, ("--workers", str(workers)), workers) as (ours_port, bare_port):
        ours, bare = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{bare_port}"
        before = httpx.get(f"{ours}{paths[0]}", headers=HEADERS).json()["model_version"]
        quiet = {"ours": _quiet(ours, script, seconds), "bare": _quiet(bare, script, seconds)}

        def retrain() -> None:
            time.sleep(1)
            started = time.monotonic()
            record = httpx.post(f"{ours}/v1/admin/retrain", headers=HEADERS,
                                json={"promote": True, "full": True}).json()
            while True:  # any worker answers for the job (its record is shared)
                record = httpx.get(f"{ours}/v1/admin/jobs/{record['id']}", headers=HEADERS).json()
                if record["status"] in ("done", "failed"):
                    break
                time.sleep(0.5)
            job.update(record, seconds=time.monotonic() - started)

        thread = threading.Thread(target=retrain)
        thread.start()
        busy = {"ours": _chunks_while(thread, ours, script)}
        after = set()
        for n in range(40):
            with httpx.Client(base_url=ours, headers=HEADERS) as http:  # new connections: every worker
                after.add(http.get(paths[n % len(paths)]).json()["model_version"])
        copy = folder / "retrain-home"
        shutil.copytree(HOME, copy, ignore=shutil.ignore_patterns("*.lock"))
        cli = subprocess.Popen([sys.executable, "-c", "from shopsense.cli import main; main()", "retrain",
                                "--home", str(copy), "--promote", "--full"], stdout=subprocess.DEVNULL,
                               stderr=(folder / "retrain-cli.log").open("wb"))
        busy["bare"] = _chunks_while(cli, bare, script)
    result = {"workers": workers, "quiet": quiet, "during_retrain": busy, "job_status": job.get("status"),
              "job_seconds": job.get("seconds"), "cli_retrain_exit": cli.returncode, "version_before": before,
              "versions_after": sorted(after)}
    for name in ("quiet", "during_retrain"):
        o, b = result[name]["ours"], result[name]["bare"]
        print(f"{name:15s} ours {o['rps']:7.0f} req/s p50 {o['p50']:6.1f} p99 {o['p99']:6.1f} ms err {o['errors']} | "
              f"bare {b['rps']:7.0f} req/s p50 {b['p50']:6.1f} p99 {b['p99']:6.1f} ms err {b['errors']} | "
              f"ratio {o['rps'] / b['rps']:.2f}x, p99 {o['p99'] / max(b['p99'], 1e-9):.1f}x", flush=True)
    print(f"retrain {job.get('status')} in {job.get('seconds', 0):.0f} s (the bare side's CLI retrain exited "
          f"{cli.returncode}); version {before} before, {sorted(after)} answering after", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", nargs="*", type=int, default=[1, 2, 3])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--skip-retrain", action="store_true")
    parser.add_argument("--retrain-workers", type=int, default=2, help="workers, ours and bare, while retraining")
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
        results["retrain"] = retrain_under_load(paths, args.seconds, folder, args.retrain_workers)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
