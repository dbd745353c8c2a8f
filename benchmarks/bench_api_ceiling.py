"""Ours vs the framework's ceiling: each endpoint of a real ``shopsense serve`` against a bare FastAPI +
uvicorn app that answers the very same bytes, driven by the same ``wrk`` client, alternating, in one run.

    .venv/bin/python benchmarks/bench_api_ceiling.py [--seconds 10] [--connections 8] [--rounds 2] [--workers 1]
        [--only ENDPOINT ...] [--json OUT]

Needs Debian's ``wrk`` (``apt-get install wrk``). The workspace is the bundled demo store prepared like the
test suite's (cached under .shopsense/bench-ceiling). Both servers run one uvicorn worker (or ``--workers
N`` each: ours forked by ``serve --workers N``, the bare app uvicorn's) with the same event loop and HTTP
parser, their access logs on, on loopback; the machine's two cores are shared between
the server and wrk (one wrk thread). Reported per endpoint: req/s, p50, p95 and p99 (ms) of each server,
the median over the rounds, and ours / bare.

Endpoints: ``GET /v1/recommendations`` for known shoppers (80%) and unknown ones, with the store backend's
admin key (the request names the shopper); ``GET /v1/items/{id}/similar``; ``GET /v1/search``; ``POST
/v1/events`` (a fresh event id each); ``POST /v1/chat`` (template replies, a new session each turn).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from shopsense.core.store import Store  # noqa: E402
from workspace_fixture import API_KEY, NO_LIMITS_ENV, free_port, prepared_workspace, start_server  # noqa: E402

HOME = REPO / ".shopsense" / "bench-ceiling" / "home"
HEADERS = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
QUERIES = ["wooden train", "jigsaw puzzle", "lego", "doll", "dinosaur", "火车", "拼图", "teddy bear", "kite",
           "board game", "craft kit", "remote control car"]
MESSAGES = ["do you have any jigsaw puzzles?", "what is your returns policy?", "I want a wooden train",
            "how long does delivery take?", "gift ideas for a 5 year old"]

BARE_APP = '''
import sys
from pathlib import Path
from fastapi import FastAPI, Request, Response
bodies = {p.stem: p.read_bytes() for p in Path(sys.argv[1]).glob("*.json")}
app = FastAPI()

@app.get("/v1/recommendations")
def recommendations() -> Response:
    return Response(bodies["recommendations"], media_type="application/json")

@app.get("/v1/items/{item_id}/similar")
def similar(item_id: str) -> Response:
    return Response(bodies["similar"], media_type="application/json")

@app.get("/v1/search")
def search() -> Response:
    return Response(bodies["search"], media_type="application/json")

@app.post("/v1/events", status_code=201)
async def events(request: Request) -> Response:
    await request.body()
    return Response(bodies["events"], status_code=201, media_type="application/json")

@app.post("/v1/chat")
async def chat(request: Request) -> Response:
    await request.body()
    return Response(bodies["chat"], media_type="application/json")

if __name__ == "__main__":
    import uvicorn
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    uvicorn.run("bare:app" if workers > 1 else app, app_dir=str(Path(__file__).parent), workers=workers,
                host="127.0.0.1", port=int(sys.argv[2]), log_level="info")
'''

LUA = '''
local paths = {PATHS}
local bodies = {BODIES}
local method = "METHOD"
local n = 0
request = function()
  n = n + 1
  local i = math.random(#paths)
  local body = nil
  if #bodies > 0 then
    local id = "ev-" .. tostring(math.random(1e12)) .. "-" .. tostring(n)
    body = string.gsub(bodies[math.random(#bodies)], "EVENTID", id)
  end
  return wrk.format(method, paths[i], {["X-API-Key"] = "KEY", ["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  io.write(string.format('{"requests": %d, "seconds": %f, "errors": %d, "non2xx": %d, '
    .. '"p50": %f, "p95": %f, "p99": %f}\\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
'''


def lua_list(values: list[str]) -> str:
    return "{" + ", ".join(json.dumps(v) for v in values) + "}"


def workloads(home: Path) -> dict[str, tuple[str, list[str], list[str]]]:
    """name -> (method, paths, bodies) for wrk."""
    with Store.from_settings(_settings(home)) as store:
        data = store.load()
    rng = random.Random(7)
    users = sorted(set(data.all_interactions()["user_id"].astype(str)))
    items = sorted(data.items["item_id"].astype(str))
    known = [f"/v1/recommendations?user_id={u}&k=10" for u in rng.sample(users, min(400, len(users)))]
    unknown = [f"/v1/recommendations?user_id=nobody-{n}&k=10" for n in range(100)]
    mixed = known[: 4 * len(unknown)] + unknown
    event = json.dumps({"event_id": "EVENTID", "user_id": "bench", "type": "view", "item_id": items[0]})
    return {
        "recommendations": ("GET", mixed, []),
        "recommendations_unknown": ("GET", unknown, []),
        "similar": ("GET", [f"/v1/items/{i}/similar?k=10" for i in rng.sample(items, 200)], []),
        "search": ("GET", [f"/v1/search?q={quote(q)}&k=10" for q in QUERIES], []),
        "events": ("POST", ["/v1/events"], [event]),
        "chat": ("POST", ["/v1/chat"], [json.dumps({"message": m}) for m in MESSAGES]),
    }


def _settings(home: Path):  # noqa: ANN202
    from shopsense.core.settings import get_settings

    return get_settings(home)


def wrk(base: str, script: Path, seconds: int, connections: int) -> dict:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), base],
                         capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"wrk said: {out.stdout}\n{out.stderr}")
    stats = json.loads(line)
    stats["rps"] = stats["requests"] / stats["seconds"]
    return stats


def capture(base: str, work: dict, folder: Path) -> None:
    """One answer of ours per endpoint: the bytes the bare server will serve."""
    with httpx.Client(base_url=base, headers=HEADERS, timeout=60) as http:
        for name, (method, paths, bodies) in work.items():
            if method == "GET":
                body = http.get(paths[0]).content
            else:
                body = http.post(paths[0], content=bodies[0].replace("EVENTID", "capture-" + name)).content
            target = folder / f"{name.removesuffix('_unknown')}.json"  # the bare app has one answer per route
            if not target.exists():
                target.write_bytes(body)


@contextmanager
def side_by_side(folder: Path, capture_bodies: Callable[[str], None],
                 server_args: tuple[str, ...] = (), bare_workers: int = 1) -> Iterator[tuple[int, int]]:
    """Our ``serve`` on the bench workspace, then (once ``capture_bodies(our_base_url)`` has written the
    ``<route>.json`` bodies into ``folder``) the bare FastAPI app answering them from ``bare_workers``
    processes: yields (our port, bare port)."""
    ours_port, bare_port = free_port(), free_port()
    ours = start_server(HOME, ours_port, env={**NO_LIMITS_ENV, "SHOPSENSE_API_KEY": API_KEY},
                        stderr=folder / "ours.log", args=server_args)
    bare = None
    try:
        capture_bodies(f"http://127.0.0.1:{ours_port}")
        (folder / "bare.py").write_text(textwrap.dedent(BARE_APP))
        bare = subprocess.Popen([sys.executable, str(folder / "bare.py"), str(folder), str(bare_port),
                                 str(bare_workers)],
                                stdout=subprocess.DEVNULL, stderr=(folder / "bare.log").open("wb"))
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{bare_port}/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield ours_port, bare_port
    finally:
        ours.terminate()
        ours.wait(30)
        if bare is not None:
            bare.terminate()
            bare.wait(30)
    if re.search(r"Traceback", (folder / "ours.log").read_text()):
        print(f"note: the server logged a traceback, see {folder / 'ours.log'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="endpoints to run (default: all)")
    parser.add_argument("--workers", type=int, default=1, help="our server's worker processes")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    if not (HOME / "store.db").exists():
        print("preparing the demo workspace (first run only)…", flush=True)
        prepared_workspace(HOME)
    work = workloads(HOME)
    if args.only:
        work = {k: v for k, v in work.items() if k in args.only}
    tmp = Path(tempfile.mkdtemp(prefix="bench-ceiling-"))
    server_args = ("--workers", str(args.workers))
    with side_by_side(tmp, lambda base: capture(base, work, tmp), server_args, args.workers) as (ours_port, bare_port):
        results = {}
        for name, (method, paths, bodies) in work.items():
            script = tmp / f"{name}.lua"
            script.write_text(LUA.replace("{PATHS}", lua_list(paths)).replace("{BODIES}", lua_list(bodies))
                              .replace("METHOD", method).replace("KEY", API_KEY))
            runs: dict[str, list[dict]] = {"ours": [], "bare": []}
            for _ in range(args.rounds):  # alternate, so a noisy moment hits both
                runs["ours"].append(wrk(f"http://127.0.0.1:{ours_port}", script, args.seconds, args.connections))
                runs["bare"].append(wrk(f"http://127.0.0.1:{bare_port}", script, args.seconds, args.connections))
            row = {side: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p95", "p99")}
                   | {"errors": sum(r["errors"] + r["non2xx"] for r in rs)} for side, rs in runs.items()}
            row["throughput_ratio"] = row["ours"]["rps"] / row["bare"]["rps"]
            row["p99_ratio"] = row["ours"]["p99"] / max(row["bare"]["p99"], 1e-9)
            results[name] = row
            print(f"{name:24s} ours {row['ours']['rps']:7.0f} req/s p50 {row['ours']['p50']:6.1f} "
                  f"p95 {row['ours']['p95']:6.1f} p99 {row['ours']['p99']:6.1f} ms err {row['ours']['errors']} | "
                  f"bare {row['bare']['rps']:7.0f} req/s p50 {row['bare']['p50']:6.1f} p99 {row['bare']['p99']:6.1f}"
                  f" | ratio {row['throughput_ratio']:.2f}x, p99 {row['p99_ratio']:.1f}x", flush=True)
        if args.json:
            args.json.write_text(json.dumps({"connections": args.connections, "seconds": args.seconds,
                                             "rounds": args.rounds, "workers": args.workers, "results": results},
                                            indent=2))


if __name__ == "__main__":
    main()
