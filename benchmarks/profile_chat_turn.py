"""Where a template chat turn's time goes: in-process turns on the bench-ceiling workspace, timed and profiled.

    .venv/bin/python benchmarks/profile_chat_turn.py [--turns 200] [--cold] [--top 25] [--home HOME]

Each turn is ``Workspace(settings).assistant().reply(new_session_id, message)`` over the messages that
``bench_api_ceiling.py --only chat`` posts (a new session each turn, like the benchmark). ``--cold`` forgets
every remembered message vector before each turn, so each turn pays for encoding its message as if it had
never been seen (the benchmark repeats five messages, so a warm server mostly does not). Prints the per-turn
wall time (mean, p50, p95) and the cProfile functions with the most cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests"))

from bench_api_ceiling import HOME, MESSAGES  # noqa: E402

from shopsense.core.settings import get_settings  # noqa: E402
from shopsense.serving.workspace import Workspace  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--cold", action="store_true", help="forget remembered message vectors before each turn")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--home", type=Path, default=HOME)
    args = parser.parse_args()
    if not (args.home / "store.db").exists():
        from workspace_fixture import prepared_workspace

        prepared_workspace(args.home)
    with Workspace(get_settings(args.home)) as workspace:
        assistant = workspace.assistant()
        for message in MESSAGES:  # warm-up: models loaded, caches built
            assistant.reply(f"prof-warm-{uuid.uuid4().hex[:8]}", message)
        profile, times = cProfile.Profile(), []
        for n in range(args.turns):
            if args.cold:
                from shopsense.text.encoder import forget_remembered_vectors

                forget_remembered_vectors()
            message = MESSAGES[n % len(MESSAGES)]
            started = time.perf_counter()
            profile.enable()
            assistant.reply(f"prof-{uuid.uuid4().hex[:12]}", message)
            profile.disable()
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(f"{args.turns} turns{' (cold vectors)' if args.cold else ''}: mean {statistics.mean(times):.1f} ms, "
          f"p50 {times[len(times) // 2]:.1f} ms, p95 {times[int(len(times) * 0.95)]:.1f} ms (profiler on)")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
