"""Chinese sentiment through the generic task trainer, in domain and on a product category it never saw.

The data is online_shopping_10_cats (shared data, 62,774 reviews in 10 categories, label 1/0). One
category (``--holdout-cat``, default 酒店 = hotels, the one most unlike the nine product categories) is
held out entirely. From the other nine a seeded sample of ``--n`` reviews, stratified by category and
label, goes through :func:`shopsense.nlp.training.fit_task` exactly as ``shopsense nlp train`` runs it
(encoder chosen from the data's language, every candidate trained, the winner chosen on validation), and
the published version is loaded back through ``load_task``. Reported for every candidate, for the
published model and for SnowNLP:

- accuracy on the in-domain test split (the 10% of the sample fit_task holds out), and
- accuracy on ``--holdout-n`` reviews of the held-out category (seeded, label-stratified),

each with its binomial standard error, plus encoding speed (texts/s) per encoder. ``--minilm`` adds a head
on the English MiniLM encoder, the model the generic trainer used to publish for this data.

The default sample (6,000 + 1,000 held out) runs in about 8 minutes on 2 busy cores (8,000 + 1,500 with
``--minilm``: 12), most of it multilingual-e5 encoding at ~20-45 texts/s; ``--cache-dir`` keeps the
embeddings for a rerun (which then takes about a minute).

    .venv/bin/python benchmarks/bench_zh_sentiment.py [--n 6000] [--holdout-cat 酒店] [--holdout-n 1000]
        [--minilm] [--cache-dir DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopsense.nlp.builtin import benchkit
from shopsense.nlp.builtin.sentiment import load_chinese_shopping
from shopsense.nlp.classifier import TextClassifier
from shopsense.nlp.tasks import load_task
from shopsense.nlp.training import fit_task, prepare_frame, publish_task, split_frame
from shopsense.registry import Registry

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def snownlp(texts: list[str]) -> list[str]:
    from snownlp import SnowNLP

    return ["positive" if SnowNLP(t).sentiments > 0.5 else "negative" for t in texts]


def scored(gold: np.ndarray, pred: list[str]) -> dict[str, float]:
    accuracy = float((np.asarray(pred) == gold).mean())
    return {"accuracy": round(accuracy, 4), "se": round(math.sqrt(accuracy * (1 - accuracy) / len(gold)), 4)}


def stratified(df: pd.DataFrame, n: int, by: list[str], seed: int) -> pd.DataFrame:
    if n >= len(df):
        return df
    return df.groupby(by, group_keys=False).sample(frac=n / len(df), random_state=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--n", type=int, default=6000, help="in-domain sample (train/valid/test 80/10/10)")
    parser.add_argument("--holdout-cat", default="酒店", help="the category held out entirely")
    parser.add_argument("--holdout-n", type=int, default=1000, help="held-out category reviews scored")
    parser.add_argument("--minilm", action="store_true", help="also train a head on the English MiniLM")
    parser.add_argument("--cache-dir", type=Path, default=None, help="embedding cache (default: a fresh one)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    info = benchkit.machine()
    print(f"{info['date']}  nproc={info['nproc']}  {info['cpu']}  load={info['load_avg_1m_at_start']}")

    data = load_chinese_shopping(args.shared)
    if args.holdout_cat not in set(data["cat"]):
        raise SystemExit(f"no category {args.holdout_cat!r}; choose from {', '.join(sorted(set(data['cat'])))}")
    pool = data[data["cat"] != args.holdout_cat]
    sample = stratified(pool, args.n, ["cat", "label"], args.seed).reset_index(drop=True)
    held = stratified(data[data["cat"] == args.holdout_cat], args.holdout_n, ["label"], args.seed)
    held_texts, held_gold = held["text"].tolist(), held["label"].to_numpy(dtype=str)
    _, _, test = split_frame(prepare_frame(sample, "text", "label")[0], args.seed)  # fit_task's own test split
    test_texts, test_gold = test["text"].tolist(), test["label"].to_numpy(dtype=str)

    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = str(args.cache_dir or Path(tmp) / "embeddings")
        with benchkit.stopwatch(times, "fit_task"):
            trained = fit_task("zhsent", sample, "text", "label", seed=args.seed, cache_dir=cache,
                               source="online_shopping_10_cats sample", on_step=lambda m: print(f"- {m}"))
        card = trained.card
        registry = Registry(Path(tmp) / "artifacts")
        publish_task(trained, registry)
        served = load_task("zhsent", registry)

        rows, results = [], {}
        entries = {c["name"]: c for c in card["candidates"]}
        models: dict[str, Any] = dict(trained.candidates)
        if args.minilm:
            train, valid, _ = split_frame(prepare_frame(sample, "text", "label")[0], args.seed)
            with benchkit.stopwatch(times, "minilm_fit"):
                minilm = TextClassifier(encoder_backend="onnx", seed=args.seed, cache_dir=cache).fit(
                    train["text"].tolist(), train["label"].tolist(), valid["text"].tolist(),
                    valid["label"].tolist())
            models["frozen-head:onnx (MiniLM, old default)"] = minilm
        for name, model in models.items():
            start = time.perf_counter()
            cross = scored(held_gold, model.predict(held_texts))
            seconds = time.perf_counter() - start
            inside = scored(test_gold, model.predict(test_texts))
            results[name] = {"in_domain": inside, "held_out_category": cross,
                             "valid_macro_f1": entries[name]["valid"]["macro_f1"] if name in entries else None,
                             "published": name == card["selection"]["published"],
                             "held_out_predict_seconds": round(seconds, 1)}
        snownlp(["好"])  # loads its model: not part of the speed
        with benchkit.stopwatch(times, "snownlp"):
            snow_held = snownlp(held_texts)
        results["SnowNLP"] = {"in_domain": scored(test_gold, snownlp(test_texts)),
                              "held_out_category": scored(held_gold, snow_held), "valid_macro_f1": None,
                              "published": False}
        # the published version, loaded back as the API loads it, predicts what the trained candidate does
        check = held_texts[:200]
        agreement = float(np.mean(np.asarray(served.predict(check)) ==
                                  np.asarray(trained.classifier.predict(check))))

    for name, r in results.items():
        drop = r["in_domain"]["accuracy"] - r["held_out_category"]["accuracy"]
        rows.append([name + (" *" if r["published"] and name in entries else ""),
                     r["valid_macro_f1"] if r["valid_macro_f1"] is not None else "-",
                     r["in_domain"]["accuracy"], r["held_out_category"]["accuracy"], round(drop, 4)])
    se = results["SnowNLP"]["held_out_category"]["se"]
    print(benchkit.table(
        f"zh sentiment: trained on {len(sample)} reviews of 9 categories ({len(test)} in-domain test); "
        f"held-out category {args.holdout_cat}: {len(held)} reviews (se ~{se})",
        ["model (* published)", "valid macro-F1", "in-domain acc", f"{args.holdout_cat} acc", "drop"], rows))
    speeds = {name: (e["encoder"] or {}).get("encode") for name, e in entries.items()
              if e.get("encoder") and (e["encoder"] or {}).get("encode")}
    if args.minilm:
        speeds["frozen-head:onnx (MiniLM)"] = minilm.encode_stats_
    for name, stats in speeds.items():
        print(f"encoding ({name}, {stats['model_id']}): {stats['encoded']} texts at "
              f"{stats['texts_per_second']} texts/s ({stats['from_cache']} from cache)")
    print(f"SnowNLP: {len(held_texts) / max(times['snownlp'], 1e-9):.0f} texts/s")
    print(f"encoder choice: {card['encoder']['reason']}")
    print(f"published: {card['selection']['published']} ({card['selection']['reason']})")
    print(f"published version loaded through load_task: {agreement:.1%} of {len(check)} held-out predictions "
          "identical to the trained model's")
    print(f"fit_task {times['fit_task']} s")
    benchkit.write_json(args.json, {"machine": info, "args": {k: str(v) for k, v in vars(args).items()},
                                    "sizes": {"sample": len(sample), "test": len(test), "held_out": len(held)},
                                    "results": results, "encoding": speeds, "seconds": times,
                                    "selection": card["selection"], "encoder": card["encoder"],
                                    "candidates": card["candidates"], "load_task_agreement": agreement})


if __name__ == "__main__":
    main()
