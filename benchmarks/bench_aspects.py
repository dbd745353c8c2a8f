"""Aspect-level sentiment against the hand-labelled held-out sentences in tests/data/aspect_sentences.csv.

The sentences come from the held-out test buckets of the Amazon Musical Instruments and Women's Clothing
reviews (never used for training); each row names one aspect and its polarity for that aspect, labelled
by reading the sentence. Compared, on the same rows:

- aspect level, fine-tuned: the workspace's ``sentiment`` task on the clause that mentions the aspect
  (what ``shopsense insights`` does);
- sentence level, fine-tuned: the same model on the whole sentence;
- VADER at the sentence level (the baseline the issue asks for) and at the clause level;
- the majority class.

Also reported: aspect-term recall (the labelled aspect is among the terms the extractor finds in the
sentence) and the time to build the demo store's opinion index.

    .venv/bin/python benchmarks/bench_aspects.py [--home WORKSPACE] [--json OUT]

Without ``--home`` a temporary workspace is made: the demo store imported and the full built-in
sentiment task trained (about a minute with a warm embedding cache).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from shopsense.core.settings import Settings, get_settings
from shopsense.marketing.aspects import LexiconSentiment, aspect_polarities
from shopsense.marketing.opinion_text import mentions_term, review_clauses
from shopsense.nlp.builtin.benchkit import machine, table, write_json

LABELS = Path(__file__).resolve().parents[1] / "tests" / "data" / "aspect_sentences.csv"
POLARITIES = ["negative", "neutral", "positive"]


def _workspace(home: Path | None, tmp: str) -> Settings:
    if home is not None:
        return get_settings(home)
    from shopsense.core.store import Store, import_directory
    from shopsense.data import demo_store_path
    from shopsense.nlp.builtin.train_all import train_builtin

    settings = get_settings(Path(tmp) / "home")
    settings.ensure_dirs()
    with Store.from_settings(settings) as store:
        import_directory(demo_store_path(), store)
    print("training the full built-in sentiment task ...", file=sys.stderr)
    train_builtin(settings, tasks=["sentiment"], quick=False)
    return settings


def _scores(gold: list[str], pred: list[str]) -> dict[str, float]:
    per_class = f1_score(gold, pred, labels=POLARITIES, average=None, zero_division=0)
    return {"accuracy": round(float(accuracy_score(gold, pred)), 4),
            "macro_f1": round(float(f1_score(gold, pred, labels=POLARITIES, average="macro", zero_division=0)), 4),
            **{f"f1_{p}": round(float(f), 4) for p, f in zip(POLARITIES, per_class, strict=True)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None, help="workspace with a trained sentiment task")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    labels = pd.read_csv(LABELS)
    sentences, aspects, gold = list(labels["sentence"]), list(labels["aspect"]), list(labels["polarity"])
    with tempfile.TemporaryDirectory() as tmp:
        settings = _workspace(args.home, tmp)
        from shopsense.marketing.opinion_store import load_opinions, sentiment_for

        model, model_name = sentiment_for(settings)
        results = {}
        start = time.perf_counter()
        results["aspect level (clause), fine-tuned"] = _scores(gold, aspect_polarities(sentences, aspects, model))
        seconds = time.perf_counter() - start
        results["sentence level, fine-tuned"] = _scores(
            gold, [p.label for p in model.predict_with_confidence(sentences)])  # type: ignore[attr-defined]
        vader = LexiconSentiment()
        results["VADER, sentence level"] = _scores(gold, [p.label for p in vader.predict_with_confidence(sentences)])
        results["VADER, aspect level (clause)"] = _scores(gold, aspect_polarities(sentences, aspects, vader))
        majority = labels["polarity"].mode()[0]
        results[f"majority class ({majority})"] = _scores(gold, [majority] * len(gold))
        found = review_clauses(sentences)
        recall = sum(any(mentions_term(t, [a]) or a in t or t in a for c in cl for t in c.terms)
                     for cl, a in zip(found, aspects, strict=True)) / len(aspects)
        start = time.perf_counter()
        index = load_opinions(settings, rebuild=True)
        build = time.perf_counter() - start
    rows = [[name, r["accuracy"], r["macro_f1"], r["f1_negative"], r["f1_neutral"], r["f1_positive"]]
            for name, r in results.items()]
    print(f"machine: {machine()}")
    print(f"held-out set: {len(labels)} labelled aspect mentions ({labels['polarity'].value_counts().to_dict()}), "
          f"sources {labels['source'].value_counts().to_dict()}; sentiment model {model_name}")
    print(table("aspect-level sentiment (hand labels)", ["method", "accuracy", "macro-F1", "F1 neg", "F1 neu",
                                                          "F1 pos"], rows))
    print(f"aspect-term recall on the labelled aspects: {recall:.3f}")
    print(f"scoring {len(labels)} labelled clauses: {seconds:.1f} s; demo store opinion index "
          f"({index.mentions['review_id'].nunique()} reviews with aspects, {len(index.mentions)} mentions, "
          f"{index.mentions['aspect'].nunique()} aspects): {build:.1f} s")
    write_json(args.json, {"machine": machine(), "n": len(labels), "model": model_name, "results": results,
                           "aspect_recall": round(recall, 4), "index_build_seconds": round(build, 1),
                           "index_mentions": len(index.mentions)})


if __name__ == "__main__":
    main()
