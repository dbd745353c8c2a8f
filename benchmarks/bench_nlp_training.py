"""The classifier training pipeline on real data: frozen-head vs TF-IDF baseline vs full fine-tuning.

Trains the Bitext customer-service intents (27 labels, 21,534 utterances; ``--max-rows`` for a stratified
sample) with :func:`shopsense.nlp.training.train_task` into a throw-away registry, then reports test
accuracy / macro-F1 against the TF-IDF baseline, the head chosen on validation, training time,
prediction throughput through ``load_task``, and the out-of-scope gate: the share of unrelated messages
(hand-written off-topic questions and real fashion product titles) mapped to ``out_of_scope`` and the
share of held-out in-scope messages wrongly rejected. ``--full`` fine-tunes MiniLM (torch) instead.

    .venv/bin/python benchmarks/bench_nlp_training.py [--max-rows 6000] [--full --max-steps 300] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from shopsense.nlp.tasks import load_task
from shopsense.nlp.training import train_task
from shopsense.registry import Registry

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
UNRELATED = [
    "what's the weather like tomorrow in Paris", "how do I bake sourdough bread at home",
    "who won the football match last night", "tell me a joke about cats", "what is the capital of Australia",
    "play some relaxing jazz music", "how tall is mount everest", "translate good morning into spanish",
    "I love hiking in the mountains on weekends", "what time is it in Tokyo right now",
    "recommend a good science fiction novel", "how many calories are in a banana",
    "set an alarm for 7am tomorrow", "what is 15 times 23", "what's the best way to learn the guitar",
    "is it going to rain this afternoon", "explain quantum computing in simple terms",
    "my dog keeps barking at night, what should I do", "which movies are showing in cinemas this week",
    "what's a good recipe for vegetable soup", "who painted the mona lisa",
    "how far is the moon from the earth", "what are the rules of chess", "write a short poem about the sea",
    "how do volcanoes form",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-rows", type=int, default=None, help="stratified sample of the training data")
    parser.add_argument("--full", action="store_true", help="fine-tune MiniLM with torch")
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--encoder", default=None, help="default: chosen from the data's language")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    data = pd.read_csv(DATA / "bitext-customer-support" / "bitext_20k_utterances_intents.csv")
    rest = pd.DataFrame()
    if args.max_rows and args.max_rows < len(data):
        from sklearn.model_selection import train_test_split

        data, rest = train_test_split(data, train_size=args.max_rows, random_state=args.seed,
                                      stratify=data["intent"])
    titles = pd.read_csv(DATA / "fashion-product-styles" / "styles_merged.csv")["productDisplayName"]
    unrelated = UNRELATED + titles.dropna().sample(200, random_state=1).tolist()

    with tempfile.TemporaryDirectory() as tmp:
        registry = Registry(Path(tmp) / "artifacts")
        start = time.perf_counter()
        finetune = {"epochs": args.epochs, "max_steps": args.max_steps} if args.full else None
        version = train_task("intent", data, "utterance", "intent", registry, full=args.full, seed=args.seed,
                             unknown_label="out_of_scope", encoder_backend=args.encoder,
                             finetune_params=finetune, cache_dir=None, verbose=True)
        train_seconds = time.perf_counter() - start
        card = version.card
        task = load_task("intent", registry)
        test_texts = rest["utterance"].sample(min(2000, len(rest)), random_state=2).tolist() if len(rest) \
            else data["utterance"].sample(2000, random_state=2).tolist()
        task.predict(test_texts[:64])  # warm-up
        start = time.perf_counter()
        task.predict(test_texts)
        per_second = len(test_texts) / (time.perf_counter() - start)
        oos_rate = float(np.mean([p == "out_of_scope" for p in task.predict(unrelated)]))
        held = rest.sample(min(2000, len(rest)), random_state=3) if len(rest) else None
        held_result = None
        if held is not None:
            pred = np.array(task.predict(held["utterance"].tolist()))
            accuracy = float((pred == held["intent"].to_numpy()).mean())
            held_result = {"n": len(held), "accuracy": round(accuracy, 4),
                           "rejected": round(float((pred == "out_of_scope").mean()), 4)}

    test = card["metrics"]["test"]
    result = {
        "benchmark": "nlp_training", "date": str(date.today()), "machine": platform.machine(),
        "cpus": os.cpu_count(), "model_kind": card["model_kind"], "rows": card["data"]["rows_used"],
        "labels": len(card["split"]["per_class"]), "split": card["split"]["sizes"], "chosen": {
            k: v for k, v in card["chosen"].items() if k not in ("candidates", "history")},
        "test": {"accuracy": test["accuracy"], "macro_f1": test["macro_f1"]},
        "test_without_gate": {k: card["metrics"]["test_without_gate"][k] for k in ("accuracy", "macro_f1")},
        "baselines": {b["name"]: {"accuracy": b["test"]["accuracy"], "macro_f1": b["test"]["macro_f1"]}
                      for b in card["baselines"]},
        "published": card["selection"]["published"], "encoder_reason": card["encoder"]["reason"],
        "candidates": {c["name"]: {"valid_macro_f1": c["valid"]["macro_f1"], "test_accuracy": c["test"]["accuracy"],
                                   "eligible": c["eligible"], "notes": c["notes"]} for c in card["candidates"]},
        "train_seconds": round(train_seconds, 1), "predict_texts_per_second": round(per_second, 1),
        "oos": {"unrelated_messages": len(unrelated), "unrelated_rejected": round(oos_rate, 4),
                "test_in_scope_rejected": card["out_of_scope"]["test_in_scope_rejected"],
                "confidence_threshold": round(card["out_of_scope"]["confidence_threshold"], 4),
                "similarity_threshold": round(card["out_of_scope"]["similarity_threshold"], 4)},
        "held_out_rows_not_used_for_training": held_result,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
