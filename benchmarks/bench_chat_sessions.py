"""Chat turns as shoppers take them: N conversations at once against a real ``shopsense serve``, each a
multi-turn guided-shopping dialogue in its own session, beside a bare FastAPI app answering the same bytes.

    .venv/bin/python benchmarks/bench_chat_sessions.py [--sessions 8] [--think 1.0 0] [--seconds 20]
                                                      [--workers 1] [--rounds 2] [--json OUT]

Each of the ``--sessions`` shoppers (a thread with its own HTTP connection) holds a conversation: it asks for a
gift for a child of some age, narrows by budget and by what the child loves, turns the picks down ("not
interested"), asks a policy question, and starts a new conversation (a new session) after the last turn. The
words are drawn per shopper (ages, budgets, themes, phrasings), so most messages differ and a turn pays for
reading its message. Between turns the shopper thinks for ``--think`` seconds (uniform 0.5x..1.5x), and each
shopper arrives at a random moment within the first ``--think`` seconds; ``0`` is a closed loop, every
shopper sending its next message the moment the answer arrives: the server's saturation.
Reported per think time: turns/s, p50 / p95 / p99 latency (ms) and errors for ours and for the bare app
(alternating, ``--rounds`` each, medians), and which fraction of our turns showed products.

The workspace is the one ``bench_api_ceiling.py`` uses (the demo store, prepared like the test suite's), with
the intent model ``shopsense train`` publishes (the full training data; ``--intent quick``: the test suite's
quick one), since every turn is read by it.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
from bench_api_ceiling import HEADERS, HOME, side_by_side

from workspace_fixture import prepared_workspace

AGES = [3, 4, 5, 6, 7, 8, 9, 10]
BUDGETS = [10, 15, 20, 25, 30, 40]
THEMES = ["dinosaurs", "trains", "unicorns", "space", "puzzles", "lego", "dolls", "pirates", "animals", "cars"]
WHO = ["niece", "nephew", "son", "daughter", "grandson", "granddaughter"]
OPENERS = ["I'm looking for a gift for my {age} year old {who}", "gift ideas for a {age} year old {who}?",
           "what would you recommend for a {age} year old?", "something for my {who}, she is {age}"]
BUDGET = ["under £{budget} please", "my budget is £{budget}", "nothing over £{budget}", "less than £{budget}"]
LOVES = ["{pronoun} loves {theme}", "{pronoun} is into {theme}", "do you have anything with {theme}?"]
POLICY = ["what is your returns policy?", "how long does delivery take?", "can I return it if it's the wrong size?",
          "do you ship to Ireland?", "how much is shipping?"]


def conversation(rng: random.Random) -> list[str]:
    """One shopper's messages, drawn at random (most of them differ from every other shopper's)."""
    who = rng.choice(WHO)
    words = {"age": rng.choice(AGES), "who": who, "budget": rng.choice(BUDGETS), "theme": rng.choice(THEMES),
             "pronoun": "she" if who in ("niece", "daughter", "granddaughter") else "he"}
    return [rng.choice(OPENERS).format(**words), rng.choice(BUDGET).format(**words),
            rng.choice(LOVES).format(**words).capitalize(), "not interested", rng.choice(POLICY)]


def drive(base: str, sessions: int, think: float, seconds: float, seed: int) -> dict:
    """``sessions`` shoppers for ``seconds``; latency of every turn answered within that time."""
    latencies: list[float] = []
    errors = shown = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def shopper(n: int) -> None:
        nonlocal errors, shown
        rng = random.Random(seed * 1000 + n)
        if think:  # shoppers arrive at random moments, not all in the same millisecond
            time.sleep(rng.uniform(0, think))
        with httpx.Client(base_url=base, headers=HEADERS, timeout=60) as http:
            while time.monotonic() < stop:
                session_id = None
                for message in conversation(rng):
                    if time.monotonic() >= stop:
                        return
                    body = {"message": message} | ({"session_id": session_id} if session_id else {})
                    started = time.perf_counter()
                    answer = http.post("/v1/chat", json=body)
                    took = (time.perf_counter() - started) * 1000
                    with lock:
                        latencies.append(took)
                        if answer.status_code != 200:
                            errors += 1
                        elif answer.json().get("items"):
                            shown += 1
                    if answer.status_code == 200:
                        session_id = answer.json().get("session_id")
                    if think:
                        time.sleep(rng.uniform(0.5 * think, 1.5 * think))

    threads = [threading.Thread(target=shopper, args=(n,)) for n in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    pick = (lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]) if latencies else (lambda q: 0.0)
    return {"turns": len(latencies), "tps": len(latencies) / seconds, "p50": pick(0.5), "p95": pick(0.95),
            "p99": pick(0.99), "errors": errors, "with_items": shown / max(1, len(latencies))}


def publish_intent(quick: bool) -> None:
    """Make the built-in intent model trained as ``shopsense train`` trains it (or quick) the workspace's
    production version (trained once per machine, then reused from the built-in cache)."""
    from shopsense.core.settings import get_settings
    from shopsense.nlp.builtin.train_all import train_builtin
    from shopsense.registry import Registry

    settings = get_settings(HOME)
    train_builtin(settings, tasks=("intent",), quick=quick, promote=True, on_step=lambda line: print(line, flush=True))
    card = Registry(settings.artifacts_dir).get("intent", "production").card
    print(f"intent model: {card['selection']['published']} ({card['data']['rows_used']} examples)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--think", type=float, nargs="+", default=[1.0, 0.0], help="seconds between turns")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--intent", choices=("full", "quick"), default="full")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not (HOME / "store.db").exists():
        print("preparing the demo workspace (first run only)…", flush=True)
        prepared_workspace(HOME)
    publish_intent(args.intent == "quick")
    tmp = Path(tempfile.mkdtemp(prefix="bench-chat-"))

    def capture(base: str) -> None:
        with httpx.Client(base_url=base, headers=HEADERS, timeout=60) as http:
            (tmp / "chat.json").write_bytes(http.post("/v1/chat", json={"message": POLICY[0]}).content)

    with side_by_side(tmp, capture, ("--workers", str(args.workers)), args.workers) as (ours_port, bare_port):
        drive(f"http://127.0.0.1:{ours_port}", args.sessions, 0.0, 3, seed=0)  # warm-up: every worker loaded
        results = {}
        for think in args.think:
            runs: dict[str, list[dict]] = {"ours": [], "bare": []}
            for r in range(args.rounds):  # alternate, so a noisy moment hits both
                for side, port in (("ours", ours_port), ("bare", bare_port)):
                    runs[side].append(drive(f"http://127.0.0.1:{port}", args.sessions, think, args.seconds, r + 1))
            row = {side: {k: statistics.median(x[k] for x in rs) for k in ("tps", "p50", "p95", "p99", "with_items")}
                   | {"errors": sum(x["errors"] for x in rs), "turns": sum(x["turns"] for x in rs)}
                   for side, rs in runs.items()}
            results[f"think_{think:g}"] = row
            o, b = row["ours"], row["bare"]
            print(f"{args.sessions} sessions, think {think:g} s, {args.workers} worker(s): "
                  f"ours {o['tps']:6.1f} turns/s p50 {o['p50']:6.1f} p95 {o['p95']:6.1f} p99 {o['p99']:6.1f} ms "
                  f"err {o['errors']} "
                  f"(items shown in {o['with_items']:.0%}) | bare {b['tps']:6.1f} turns/s p50 {b['p50']:5.1f} "
                  f"p95 {b['p95']:5.1f} p99 {b['p99']:5.1f} ms", flush=True)
        if args.json:
            args.json.write_text(json.dumps({"sessions": args.sessions, "seconds": args.seconds,
                                             "workers": args.workers, "intent": args.intent, "results": results},
                                            indent=2))


if __name__ == "__main__":
    main()
