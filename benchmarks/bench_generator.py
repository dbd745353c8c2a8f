"""Generation speed: the template backend vs SmolLM2-135M (GGUF, xllamacpp) in-process and over HTTP.

For the language model: time to first token and decode tokens/s, streaming the same prompts through the
in-process runtime and through a real OpenAI-compatible server on loopback (``shopsense llm serve`` in a
subprocess), alternating so machine noise hits both alike; also how often the grounding check had to fall
back to the template on realistic shop replies.

    .venv/bin/python benchmarks/bench_generator.py [--repeats 5] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from shopsense.text.generator import (
    Facts,
    LocalLlamaGenerator,
    OpenAICompatibleGenerator,
    TemplateGenerator,
    build_messages,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from llm_server import start_llm_server  # noqa: E402

TASK = "Answer the shopper in one or two friendly sentences."
CASES = [
    ("how much is the wooden train?", "The Wooden Train Set costs £12.99 and has 24 beech-wood pieces.",
     [("product", "toy_1", "Wooden Train Set: 24 pieces, beech wood.", "Wooden Train Set"),
      ("price", "toy_1", "Wooden Train Set costs £12.99.", 12.99)]),
    ("can I return a puzzle I opened?", "Yes: items can be returned within 30 days for a full refund (FAQ: returns).",
     [("policy", "faq-returns", "Items can be returned within 30 days for a full refund.", None)]),
    ("where is my order ORD-100002?", "Your order ORD-100002 was shipped on 20 November.",
     [("order_status", "ORD-100002", "Order ORD-100002 was shipped on 20 November.", "shipped")]),
    ("something for a 3 year old under £20?", "Two ideas: Stacking Rings (£8.50) and Shape Sorter Cube (£14.00).",
     [("product", "toy_2", "Stacking Rings, age 1+, £8.50.", "Stacking Rings"),
      ("product", "toy_3", "Shape Sorter Cube, age 2+, £14.00.", "Shape Sorter Cube")]),
]


def facts_for(rows: list) -> Facts:
    facts = Facts()
    for kind, key, text, value in rows:
        facts.add(kind, key, text, value)
    return facts


def timed_stream(stream_fn, messages: list[dict]) -> tuple[float, float, int]:  # noqa: ANN001
    """(seconds to first token, decode tokens/s after it, tokens)."""
    started = time.perf_counter()
    first = None
    count = 0
    for _ in stream_fn(messages, max_tokens=64, temperature=0.3, seed=0):
        count += 1
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    return (first or end) - started, (count - 1) / max(end - (first or end), 1e-9), count


def in_process_stream(generator: LocalLlamaGenerator):  # noqa: ANN201
    # The runtime reports tokens through a callback during the call: use the recorded arrival times.
    def run(messages: list[dict], **kw):  # noqa: ANN003, ANN202
        started = time.perf_counter()
        list(generator.stream_tokens(messages, **kw))
        arrivals = generator.last_arrivals
        run.timing = (arrivals[0][0] - started, (len(arrivals) - 1) / max(arrivals[-1][0] - arrivals[0][0], 1e-9),
                      len(arrivals)) if arrivals else (0.0, 0.0, 0)
        return iter(())
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    template = TemplateGenerator()
    started = time.perf_counter()
    for _ in range(2000):
        for question, draft, rows in CASES:
            template.generate(TASK, facts_for(rows), draft, user_message=question)
    template_us = (time.perf_counter() - started) / (2000 * len(CASES)) * 1e6

    local = LocalLlamaGenerator()
    local.server  # noqa: B018 - load the model before timing
    proc, base_url = start_llm_server()
    http = OpenAICompatibleGenerator(base_url, model="smollm2")
    results: dict[str, list[tuple[float, float, int]]] = {"in_process": [], "http": []}
    fallbacks = {"in_process": 0, "http": 0}
    try:
        runner = in_process_stream(local)
        for repeat in range(args.repeats):
            for question, draft, rows in CASES:
                # A distinct task line per request: only the constant system prompt can come from the
                # runtime's prompt cache, as in production where every reply has new facts.
                messages = build_messages(f"{TASK} (request {repeat}-{question[:8]})", facts_for(rows), draft,
                                          question)
                runner(messages, max_tokens=64, temperature=0.3, seed=0)
                results["in_process"].append(runner.timing)
                messages[1]["content"] = messages[1]["content"].replace("(request", "(http request")
                results["http"].append(timed_stream(http.stream_tokens, messages))
        for seed, (question, draft, rows) in enumerate(CASES * 3):
            for name, generator in (("in_process", local), ("http", http)):
                generation = generator.generate(TASK, facts_for(rows), draft, user_message=question, seed=seed,
                                                max_tokens=64)
                fallbacks[name] += generation.fallback_used
    finally:
        proc.terminate()
        proc.wait(10)

    report = {"date": date.today().isoformat(), "cpus": os.cpu_count(), "machine": platform.processor() or
              platform.machine(), "template_us_per_reply": round(template_us, 1)}
    for name, rows in results.items():
        report[name] = {
            "ttft_ms_median": round(statistics.median(r[0] for r in rows) * 1000, 1),
            "tokens_per_s_median": round(statistics.median(r[1] for r in rows), 1),
            "tokens_median": statistics.median(r[2] for r in rows),
            "grounding_fallback_rate": round(fallbacks[name] / (len(CASES) * 3), 2),
        }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
