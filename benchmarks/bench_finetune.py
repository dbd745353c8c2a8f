"""``--full`` fine-tuning vs the frozen head, on English review sentiment: macro-F1 and what it costs.

Same data for every arm: the English part of the ``sentiment`` task's training data (shipped Amazon
Musical Instruments + Women's Clothing samples, texts cut as for training), split 80/10/10 like
``train_task`` (stratified, seed 42). Arms:

- ``fine-tuned MiniLM``: :class:`~shopsense.nlp.finetune.FineTunedClassifier` (torch on CPU, then ONNX).
- ``frozen MiniLM``: :class:`~shopsense.nlp.classifier.TextClassifier` on the same MiniLM, ``head="auto"``.
- ``frozen e5`` (optional, ``--with-e5``): the shipped recipe's multilingual encoder.

Scored on the split's test part and on the held-out Amazon and Clothing test buckets (never shipped).
Wall times are for fitting (encoding included; embedding cache off) and for predicting the Amazon test.

    .venv/bin/python benchmarks/bench_finetune.py [--epochs 2] [--max-train N] [--json OUT]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from sklearn.metrics import accuracy_score, f1_score

from shopsense.nlp.builtin import benchkit
from shopsense.nlp.builtin.resources import cap_per_label
from shopsense.nlp.builtin.sentiment import (
    SENTIMENT_LABELS,
    load_amazon_instruments,
    load_clothing,
    sentiment_dataset,
    split_reference,
)
from shopsense.nlp.training import prepare_frame, split_frame

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def scores(gold: Any, pred: list[str]) -> dict[str, float]:
    return {"macro_f1": float(f1_score(gold, pred, labels=list(SENTIMENT_LABELS), average="macro",
                                      zero_division=0)),
            "accuracy": float(accuracy_score(gold, pred))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-train", type=int, default=None, help="cap training rows per label (seeded)")
    parser.add_argument("--clothing-n", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--with-e5", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    info = benchkit.machine()
    info["torch_threads"] = torch.get_num_threads()
    print(f"{info['date']}  nproc={info['nproc']}  {info['cpu']}  load={info['load_avg_1m_at_start']}  "
          f"torch threads={info['torch_threads']}")

    data = sentiment_dataset(langs=("en",))
    frame, _ = prepare_frame(data, "text", "label")
    train, valid, test = split_frame(frame, args.seed)
    if args.max_train:
        train = cap_per_label(train, args.max_train, args.seed)
    _, mi_test = split_reference(load_amazon_instruments(args.shared))
    _, cl_test = split_reference(load_clothing(args.shared))
    cl_test = cl_test.sample(n=min(args.clothing_n, len(cl_test)), random_state=args.seed)
    sets = {"split test": test, "amazon_mi held-out": mi_test, "clothing held-out": cl_test}
    print(f"train {len(train)}, valid {len(valid)}; test sets: "
          + ", ".join(f"{k} {len(v)}" for k, v in sets.items()))

    from shopsense.nlp.classifier import TextClassifier
    from shopsense.nlp.finetune import FineTunedClassifier

    arms: dict[str, Any] = {
        "fine-tuned MiniLM": FineTunedClassifier(epochs=args.epochs, seed=args.seed, threads=args.threads),
        "frozen MiniLM": TextClassifier(encoder_backend="onnx", seed=args.seed),
    }
    if args.with_e5:
        arms["frozen e5"] = TextClassifier(encoder_backend="multilingual", seed=args.seed)
    results: dict[str, Any] = {}
    for name, clf in arms.items():
        start = time.perf_counter()
        clf.fit(train["text"].tolist(), train["label"].tolist(), valid["text"].tolist(), valid["label"].tolist())
        fit_s = time.perf_counter() - start
        out: dict[str, Any] = {"fit_seconds": round(fit_s, 1)}
        for set_name, part in sets.items():
            start = time.perf_counter()
            pred = clf.predict(part["text"].tolist())
            if set_name == "amazon_mi held-out":
                out["predict_seconds_amazon"] = round(time.perf_counter() - start, 1)
            out[set_name] = scores(part["label"], pred)
        if name == "fine-tuned MiniLM":
            out["steps"], out["history"] = clf.steps_, clf.history_
        else:
            out["head"] = {k: v for k, v in clf.chosen_.items() if k != "candidates"}
        results[name] = out
        print(f"{name}: fit {out['fit_seconds']} s, " + ", ".join(
            f"{k} macro-F1 {out[k]['macro_f1']:.4f}" for k in sets), flush=True)

    rows = [[name, r["split test"]["macro_f1"], r["amazon_mi held-out"]["macro_f1"],
             r["clothing held-out"]["macro_f1"], r["amazon_mi held-out"]["accuracy"], r["fit_seconds"],
             r["predict_seconds_amazon"]] for name, r in results.items()]
    print(benchkit.table(f"English review sentiment, {len(train)} training reviews, 3 classes (macro-F1)",
                         ["arm", "split test", "amazon_mi", "clothing", "amazon acc", "fit s",
                          f"predict {len(mi_test)} s"], rows))
    ft, fr = results["fine-tuned MiniLM"], results["frozen MiniLM"]
    gain = ft["amazon_mi held-out"]["macro_f1"] - fr["amazon_mi held-out"]["macro_f1"]
    print(f"fine-tuning {'beats' if gain > 0 else 'does not beat'} the frozen head on the Amazon held-out test "
          f"by {gain:+.4f} macro-F1, at {ft['fit_seconds'] / max(fr['fit_seconds'], 0.1):.1f}x the fitting time")
    benchkit.write_json(args.json, {"machine": info, "args": vars(args), "sizes": {
        "train": len(train), "valid": len(valid), **{k: len(v) for k, v in sets.items()}}, "results": results})


if __name__ == "__main__":
    main()
