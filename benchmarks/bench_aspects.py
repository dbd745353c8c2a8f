"""Aspect-level sentiment against two hand-labelled sets of review sentences.

- ``tests/data/aspect_sentences.csv``: held-out test buckets of the Amazon Musical Instruments and Women's
  Clothing reviews (never used for training). The clause rules of ``marketing.opinion_rules`` were
  developed while this set was being looked at, so it is the development set.
- ``tests/data/aspect_sentences_gift_cards.csv``: Amazon Gift Cards reviews, a category no model here is
  trained on, labelled before any model was run on them and never tuned on: the held-out set.

Each row names one aspect and its polarity for that aspect, labelled by reading the sentence. Compared,
on the same rows, for each sentiment model (the full fine-tuned ``sentiment`` task, and the quick
frozen-encoder one that ``make test`` trains):

- aspect level, model + clause rules: what ``shopsense insights`` does (the clause around the aspect,
  the model's verdict corrected for requirements/advice, wishes, negation and statements of context);
- aspect level, model only: the same clauses without the rules;
- sentence level, model only: the whole sentence;
- VADER at the sentence level and at the clause level; the majority class.

Also reported: aspect-term recall (the labelled aspect is among the terms the extractor finds in the
sentence) and the time to build the demo store's opinion index.

    .venv/bin/python benchmarks/bench_aspects.py [--home WORKSPACE] [--quick-home WORKSPACE] [--no-quick]
                                                 [--json OUT]

Without ``--home`` a temporary workspace is made: the demo store imported and the full built-in
sentiment task trained (a few minutes on 2 cores); likewise for the quick model without ``--quick-home``.
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

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SETS = {"instruments+clothing (dev)": DATA / "aspect_sentences.csv",
        "gift cards (held-out)": DATA / "aspect_sentences_gift_cards.csv"}
POLARITIES = ["negative", "neutral", "positive"]


def _workspace(home: Path | None, tmp: str, quick: bool) -> Settings:
    if home is not None:
        return get_settings(home)
    from shopsense.core.store import Store, import_directory
    from shopsense.data import demo_store_path
    from shopsense.nlp.builtin.train_all import train_builtin

    settings = get_settings(Path(tmp) / ("quick" if quick else "full"))
    settings.ensure_dirs()
    with Store.from_settings(settings) as store:
        import_directory(demo_store_path(), store)
    print(f"training the {'quick' if quick else 'full'} built-in sentiment task ...", file=sys.stderr)
    train_builtin(settings, tasks=["sentiment"], quick=quick)
    return settings


def _scores(gold: list[str], pred: list[str]) -> dict[str, float]:
    per_class = f1_score(gold, pred, labels=POLARITIES, average=None, zero_division=0)
    return {"accuracy": round(float(accuracy_score(gold, pred)), 4),
            "macro_f1": round(float(f1_score(gold, pred, labels=POLARITIES, average="macro", zero_division=0)), 4),
            **{f"f1_{p}": round(float(f), 4) for p, f in zip(POLARITIES, per_class, strict=True)}}


def _recall(labels: pd.DataFrame) -> float:
    found = review_clauses(list(labels["sentence"]))
    return sum(any(mentions_term(t, [a]) or a in t or t in a for c in cl for t in c.terms)
               for cl, a in zip(found, labels["aspect"], strict=True)) / len(labels)


def _evaluate(labels: pd.DataFrame, models: dict[str, object]) -> dict[str, dict[str, float]]:
    sentences, aspects, gold = list(labels["sentence"]), list(labels["aspect"]), list(labels["polarity"])
    results = {}
    for name, model in models.items():
        results[f"{name}: aspect level, model + clause rules"] = _scores(
            gold, aspect_polarities(sentences, aspects, model))
        results[f"{name}: aspect level, model only"] = _scores(
            gold, aspect_polarities(sentences, aspects, model, rules=False))
        results[f"{name}: sentence level, model only"] = _scores(
            gold, [p.label for p in model.predict_with_confidence(sentences)])  # type: ignore[attr-defined]
    vader = LexiconSentiment()
    results["VADER, aspect level + clause rules"] = _scores(gold, aspect_polarities(sentences, aspects, vader))
    results["VADER, aspect level (clause)"] = _scores(gold, aspect_polarities(sentences, aspects, vader, rules=False))
    results["VADER, sentence level"] = _scores(gold, [p.label for p in vader.predict_with_confidence(sentences)])
    majority = labels["polarity"].mode()[0]
    results[f"majority class ({majority})"] = _scores(gold, [majority] * len(gold))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None, help="workspace with the full sentiment task trained")
    parser.add_argument("--quick-home", type=Path, default=None, help="workspace with the quick sentiment task")
    parser.add_argument("--no-quick", action="store_true", help="skip the quick model")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    from shopsense.marketing.opinion_store import load_opinions, sentiment_for

    report: dict[str, object] = {"machine": machine(), "sets": {}}
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        settings = _workspace(args.home, tmp, quick=False)
        models: dict[str, object] = {}
        full, report["model"] = sentiment_for(settings)
        models["full"] = full
        if not args.no_quick:
            quick, report["quick_model"] = sentiment_for(_workspace(args.quick_home, tmp, quick=True))
            models["quick"] = quick
        for set_name, path in SETS.items():
            labels = pd.read_csv(path)
            start = time.perf_counter()
            results = _evaluate(labels, models)
            seconds = time.perf_counter() - start
            recall = _recall(labels)
            rows = [[name, r["accuracy"], r["macro_f1"], r["f1_negative"], r["f1_neutral"], r["f1_positive"]]
                    for name, r in results.items()]
            print(f"\n{set_name}: {len(labels)} labelled aspect mentions "
                  f"({labels['polarity'].value_counts().to_dict()}), sources {labels['source'].unique().tolist()}")
            print(table(f"aspect-level sentiment, {set_name}", ["method", "accuracy", "macro-F1", "F1 neg",
                                                                 "F1 neu", "F1 pos"], rows))
            print(f"aspect-term recall on the labelled aspects: {recall:.3f}; every method scored in {seconds:.1f} s")
            report["sets"][set_name] = {"file": path.name, "n": len(labels), "results": results,  # type: ignore[index]
                                        "aspect_recall": round(recall, 4)}
        start = time.perf_counter()
        index = load_opinions(settings, rebuild=True)
        build = time.perf_counter() - start
    print(f"\nsentiment models: {report['model']}; quick {report.get('quick_model', '-')}")
    print(f"demo store opinion index ({index.mentions['review_id'].nunique()} reviews with aspects, "
          f"{len(index.mentions)} mentions, {index.mentions['aspect'].nunique()} aspects): {build:.1f} s")
    report.update(index_build_seconds=round(build, 1), index_mentions=len(index.mentions))
    write_json(args.json, report)


if __name__ == "__main__":
    main()
