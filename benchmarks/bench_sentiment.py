"""Sentiment benchmark: the built-in ``sentiment`` model vs VADER (English) and snownlp (Chinese).

Trains the ``sentiment`` task as ``shopsense train`` does (shipped review samples, same ``fit_task``
options) and scores it on held-out reviews that were never shipped or trained on (the test bucket of
each reference set: one review in ten by text hash, see ``resources.in_test_bucket``):

- English: Amazon Musical Instruments 5-core test bucket (all of it), stars 1-2/3/4-5 ->
  negative/neutral/positive; and a seeded sample of the Women's Clothing test bucket. VADER on the
  same texts: compound >= 0.05 positive, <= -0.05 negative, else neutral. Metric: macro-F1.
- Chinese: a seeded, label-stratified sample of the online_shopping_10_cats test bucket (binary).
  snownlp: ``SnowNLP(text).sentiments > 0.5`` is positive. Metric: accuracy (our model's "neutral"
  counts as wrong; the positive-vs-negative accuracy, ignoring the neutral class, is shown as well).

Also trains the same recipe on the English-only MiniLM encoder, English data only, for comparison.

    .venv/bin/python benchmarks/bench_sentiment.py [--json OUT] [--zh-n 3000] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from shopsense.nlp.builtin import benchkit
from shopsense.nlp.builtin.sentiment import (
    SENTIMENT_LABELS,
    load_amazon_instruments,
    load_chinese_shopping,
    load_clothing,
    sentiment_dataset,
    split_reference,
)
from shopsense.nlp.builtin.train_all import RECIPES
from shopsense.nlp.classifier import TextClassifier
from shopsense.nlp.training import fit_task

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_CACHE = Path.home() / ".cache" / "shopsense" / "bench-embeddings"


def vader(texts: list[str]) -> list[str]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    out = []
    for text in texts:
        compound = analyzer.polarity_scores(text)["compound"]
        out.append("positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral")
    return out


def snownlp(texts: list[str]) -> list[str]:
    from snownlp import SnowNLP

    return ["positive" if SnowNLP(t).sentiments > 0.5 else "negative" for t in texts]


def english_scores(gold: pd.Series, pred: list[str]) -> dict[str, Any]:
    per_class = f1_score(gold, pred, labels=list(SENTIMENT_LABELS), average=None, zero_division=0)
    return {"macro_f1": float(f1_score(gold, pred, labels=list(SENTIMENT_LABELS), average="macro",
                                      zero_division=0)),
            "accuracy": float(accuracy_score(gold, pred)),
            "f1_per_class": {c: round(float(f), 4) for c, f in zip(SENTIMENT_LABELS, per_class, strict=True)}}


def binary(clf: Any, texts: list[str]) -> list[str]:
    """Positive vs negative by the larger of the two probabilities (the neutral class ignored)."""
    classes, probs = clf.predict_proba(texts)
    pos, neg = probs[:, classes.index("positive")], probs[:, classes.index("negative")]
    return ["positive" if p >= n else "negative" for p, n in zip(pos, neg, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--zh-n", type=int, default=3000, help="Chinese test reviews (seeded sample)")
    parser.add_argument("--clothing-n", type=int, default=2000, help="clothing test reviews (seeded sample)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    info = benchkit.machine()
    print(f"{info['date']}  nproc={info['nproc']}  {info['cpu']}  load={info['load_avg_1m_at_start']}")

    _, mi_test = split_reference(load_amazon_instruments(args.shared))
    _, cl_test = split_reference(load_clothing(args.shared))
    cl_test = cl_test.sample(n=min(args.clothing_n, len(cl_test)), random_state=args.seed)
    _, zh_test = split_reference(load_chinese_shopping(args.shared))
    share = min(1.0, args.zh_n / len(zh_test))
    zh_test = zh_test.groupby("label", group_keys=False).sample(frac=share, random_state=args.seed)

    train = sentiment_dataset()  # what `shopsense train` uses, without workspace reviews
    times: dict[str, float] = {}
    cache = str(args.cache_dir)
    recipe = RECIPES["sentiment"].options()
    with benchkit.stopwatch(times, "shipped"):
        trained = fit_task("sentiment", train, "text", "label", seed=args.seed, cache_dir=cache, **recipe)
    model = trained.classifier
    # the published model may be the head, TF-IDF or their combination; the MiniLM arm copies the head
    head_model = trained.candidates[f"frozen-head:{recipe['encoder_backend']}"]
    chosen = {k: v for k, v in head_model.chosen_.items() if k != "candidates"}
    english = train[train["lang"] == "en"]
    minilm_params = {"head": "logreg", "c_grid": (chosen["C"],)} if chosen["head"] == "logreg" else {
        "head": "mlp", "mlp_hidden": chosen["hidden"]}
    from shopsense.nlp.training import prepare_frame, split_frame

    en_train, en_valid, _ = split_frame(prepare_frame(english, "text", "label")[0], args.seed)
    with benchkit.stopwatch(times, "minilm"):
        minilm = TextClassifier(encoder_backend="onnx", seed=args.seed, cache_dir=cache, **minilm_params).fit(
            en_train["text"].tolist(), en_train["label"].tolist(), en_valid["text"].tolist(),
            en_valid["label"].tolist())

    results: dict[str, Any] = {}
    rows = []
    for name, test in (("amazon_mi", mi_test), ("clothing", cl_test)):
        texts = test["text"].tolist()
        with benchkit.stopwatch(times, f"vader_{name}"):
            v = vader(texts)
        results[name] = {"n": len(test), "label_counts": test["label"].value_counts().to_dict(),
                         "ours": english_scores(test["label"], model.predict(texts)),
                         "ours_minilm": english_scores(test["label"], minilm.predict(texts)),
                         "vader": english_scores(test["label"], v)}
        r = results[name]
        rows.append([name, len(test), r["ours"]["macro_f1"], r["ours_minilm"]["macro_f1"], r["vader"]["macro_f1"],
                     round(r["ours"]["macro_f1"] - r["vader"]["macro_f1"], 4), r["ours"]["accuracy"],
                     r["vader"]["accuracy"]])
    print(benchkit.table("English held-out reviews (3 classes)",
                         ["test set", "n", "ours macro-F1", "MiniLM macro-F1", "VADER macro-F1", "margin",
                          "ours acc", "VADER acc"], rows))

    texts = zh_test["text"].tolist()
    with benchkit.stopwatch(times, "snownlp"):
        s = snownlp(texts)
    three = model.predict(texts)
    results["zh_shopping"] = {
        "n": len(zh_test), "label_counts": zh_test["label"].value_counts().to_dict(),
        "ours_accuracy": float(accuracy_score(zh_test["label"], three)),
        "ours_neutral_share": float(np.mean(np.asarray(three) == "neutral")),
        "ours_binary_accuracy": float(accuracy_score(zh_test["label"], binary(model, texts))),
        "snownlp_accuracy": float(accuracy_score(zh_test["label"], s))}
    z = results["zh_shopping"]
    print(benchkit.table("Chinese held-out reviews (positive / negative)",
                         ["test set", "n", "ours acc", "ours acc (pos vs neg)", "snownlp acc", "margin"],
                         [["zh_shopping", z["n"], z["ours_accuracy"], z["ours_binary_accuracy"],
                           z["snownlp_accuracy"], round(z["ours_accuracy"] - z["snownlp_accuracy"], 4)]]))
    print(f"shipped model: {trained.card['selection']['published']} ({recipe['encoder_backend']} encoder, "
          f"head {chosen}); trained on {len(train)} "
          f"shipped reviews in {times['shipped']} s (incl. TF-IDF baseline); MiniLM arm {times['minilm']} s")
    benchkit.write_json(args.json, {"machine": info, "results": results, "seconds": times,
                                    "shipped_head": chosen, "train_rows": len(train),
                                    "card_test": trained.card["metrics"]["test"]})


if __name__ == "__main__":
    main()
