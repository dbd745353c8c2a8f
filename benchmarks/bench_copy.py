"""Copy generation: template vs language-model backends on the demo store, and the Chinese path on AdvertiseGen.

    .venv/bin/python benchmarks/bench_copy.py [--items 50] [--llm-items 8] [--llm local|URL|none]
                                              [--zh-records 1070] [--json OUT]

Part 1 (template): ``--items`` demo items (the most reviewed half, the rest spread over the catalog) x 3
variants x {headline, short, description} x {en, zh}: fact-check pass rate (re-checked independently of the
writer), length compliance, items that got all 3 variants, distinct-1/2, mean length, seconds per variant.
Part 2 (LLM): the same measures on ``--llm-items`` items x 3 variants x {headline, short} in English with a
real model (``local``: the packaged SmolLM2-135M in-process; or an OpenAI-compatible base URL), plus the
share of variants where the model's own text survived the checks (the rest fell back to the grounded draft).
Part 3 (Chinese): AdvertiseGen dev ``类型#上衣*材质#牛仔布...`` pairs -> descriptions; attribute coverage
(share of attribute values stated) of our variants vs the human reference summaries, pass rate, distinct-n.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from shopsense.core.loaders import load_store_dir_strict
from shopsense.data import demo_store_path
from shopsense.marketing.copy import CopyWriter, attribute_copy, attribute_coverage, build_item_facts
from shopsense.marketing.copy_checks import CHANNEL_LIMITS, CopyChecker, distinct_n
from shopsense.marketing.copy_templates import parse_advertisegen

ADVERTISEGEN = Path("/work/shared/data/zh-advertisegen-dev/dev.json")


def sample_items(data: Any, n: int) -> list[str]:
    reviewed = list(data.reviews["item_id"].value_counts().index[: n // 2])
    rest = [i for i in data.items["item_id"] if i not in reviewed]
    return reviewed + rest[:: max(1, len(rest) // (n - len(reviewed)))][: n - len(reviewed)]


def run_backend(data: Any, ids: list[str], channels: tuple[str, ...], languages: tuple[str, ...],
                generator: Any = None) -> dict[str, Any]:
    writer = CopyWriter(generator=generator)
    rows: dict[str, Any] = {}
    for channel in channels:
        for language in languages:
            texts, passed, within, full, kept_model, seconds, within_item = [], 0, 0, 0, 0, [], []
            for item_id in ids:
                facts = build_item_facts(data.items, data.reviews, item_id)
                started = time.perf_counter()
                result = writer.write(facts, channel, language, n=3)
                seconds.append((time.perf_counter() - started) / max(1, len(result.variants)))
                checker = CopyChecker(facts.facts, channel)
                full += len(result.variants) == 3
                if len(result.variants) > 1:
                    within_item.append(distinct_n([v.text for v in result.variants], 2))
                for v in result.variants:
                    texts.append(v.text)
                    passed += not checker.violations(v.text)
                    within += len(v.text) <= CHANNEL_LIMITS[channel]
                    kept_model += not v.fallback_used
            n = len(texts) or 1
            rows[f"{channel}/{language}"] = {
                "variants": len(texts), "fact_check_pass": round(passed / n, 4), "within_length": round(within / n, 4),
                "items_with_3": f"{full}/{len(ids)}", "distinct_1": round(distinct_n(texts, 1), 4),
                "distinct_2": round(distinct_n(texts, 2), 4),
                "item_distinct_2": round(statistics.mean(within_item), 4) if within_item else None,
                "mean_chars": round(statistics.mean(len(t) for t in texts), 1) if texts else 0,
                "model_text_kept": round(kept_model / n, 4) if generator is not None else None,
                "seconds_per_variant": round(statistics.mean(seconds), 4)}
    return rows


def run_chinese(records: int, generator: Any = None) -> dict[str, Any]:
    rows = [json.loads(line) for line in ADVERTISEGEN.read_text(encoding="utf-8").splitlines()[:records]]
    ours, reference, texts, passed, full, within_item = [], [], [], 0, 0, []
    started = time.perf_counter()
    for i, row in enumerate(rows):
        pairs = parse_advertisegen(row["content"])
        result = attribute_copy(pairs, n=3, key=f"ag{i}", generator=generator)
        full += len(result.variants) == 3
        within_item.append(distinct_n([v.text for v in result.variants], 2))
        for v in result.variants:
            ours.append(attribute_coverage(v.text, pairs))
            texts.append(v.text)
            passed += v.checks["passed"]
        reference.append(attribute_coverage(row["summary"], pairs))
    return {"records": len(rows), "variants": len(texts), "records_with_3": full,
            "attribute_coverage_ours": round(statistics.mean(ours), 4),
            "attribute_coverage_reference": round(statistics.mean(reference), 4),
            "fact_check_pass": round(passed / max(1, len(texts)), 4),
            "distinct_1": round(distinct_n(texts, 1), 4), "distinct_2": round(distinct_n(texts, 2), 4),
            "distinct_2_reference": round(distinct_n([r["summary"] for r in rows], 2), 4),
            "item_distinct_2": round(statistics.mean(within_item), 4),
            "mean_chars": round(statistics.mean(len(t) for t in texts), 1),
            "seconds": round(time.perf_counter() - started, 2)}


def print_table(title: str, rows: dict[str, dict[str, Any]]) -> None:
    print(f"\n{title}")
    cols = list(next(iter(rows.values())).keys())
    width = max(len(c) for c in cols) + 2
    print(f"{'':16}" + "".join(f"{c:>{width}}" for c in cols))
    for name, row in rows.items():
        print(f"{name:16}" + "".join(f"{str(row[c]):>{width}}" for c in cols))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--llm-items", type=int, default=8)
    parser.add_argument("--llm", default="local", help="local | an OpenAI-compatible base URL | none")
    parser.add_argument("--zh-records", type=int, default=1070)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    data = load_store_dir_strict(demo_store_path())
    ids = sample_items(data, args.items)
    report: dict[str, Any] = {"items": len(ids)}
    report["template"] = run_backend(data, ids, ("headline", "short", "description"), ("en", "zh"))
    print_table(f"template backend: {len(ids)} demo items x 3 variants", report["template"])
    if args.llm != "none" and args.llm_items > 0:
        from shopsense.text.generator import get_generator

        generator = (get_generator("local") if args.llm == "local"
                     else get_generator("openai", base_url=args.llm, model="default"))
        llm_ids = ids[: args.llm_items]
        report["llm_backend"] = {"name": "SmolLM2-135M-Instruct (xllamacpp, 2 threads)" if args.llm == "local"
                                 else args.llm, "items": len(llm_ids)}
        report["llm"] = run_backend(data, llm_ids, ("headline", "short"), ("en",), generator)
        report["template_same_items"] = run_backend(data, llm_ids, ("headline", "short"), ("en",))
        print_table(f"LLM backend ({report['llm_backend']['name']}): {len(llm_ids)} items x 3 variants", report["llm"])
        print_table("template backend on the same items", report["template_same_items"])
    report["zh_advertisegen"] = run_chinese(args.zh_records)
    print_table("Chinese (AdvertiseGen dev, attribute pairs -> description, template backend)",
                {"zh": report["zh_advertisegen"]})
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.json.with_suffix(".tmp")
        tmp.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(args.json)


if __name__ == "__main__":
    main()
