"""Entity extraction quality: span precision/recall/F1 on a held-out half of the Bitext entity spans.

The extractor is rule-based plus spaCy; the only thing taken from the training half is the list of
account-type words, so the held-out half measures how the rules generalise.

    .venv/bin/python benchmarks/bench_entities.py [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from datetime import date
from pathlib import Path

import pandas as pd

from shopsense.nlp.entities import EntityExtractor
from shopsense.nlp.entity_eval import load_bitext_spans, span_scores
from shopsense.nlp.entity_vocab import ACCOUNT_TYPES

BITEXT = (Path(__file__).resolve().parents[2] / "shared" / "data" / "bitext-customer-support"
          / "bitext_customer_support_training_4.5k.csv")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    examples = load_bitext_spans(BITEXT)
    random.Random(42).shuffle(examples)
    half = len(examples) // 2
    train, heldout = examples[:half], examples[half:]
    learned = {ex.text[s:e].lower() for ex in train for t, s, e in ex.spans if t == "account_type"}
    extractor = EntityExtractor(account_types=sorted(set(ACCOUNT_TYPES) | learned))
    start = time.perf_counter()
    report = span_scores(extractor, heldout)
    seconds = time.perf_counter() - start
    frame = pd.DataFrame(report).T[["support", "exact_precision", "exact_recall", "exact_f1",
                                   "overlap_precision", "overlap_recall", "overlap_f1"]]
    print(f"{date.today()} cores={os.cpu_count()} held-out messages={len(heldout)} "
          f"({len(heldout) / seconds:.0f} messages/s)")
    print(frame.round(3).to_string())
    if args.json:
        args.json.write_text(json.dumps({"date": date.today().isoformat(), "heldout": len(heldout),
                                         "per_type": report}, indent=2))


if __name__ == "__main__":
    main()
