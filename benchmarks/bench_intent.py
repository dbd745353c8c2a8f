"""Intent benchmark: Bitext held-out accuracy, Chinese accuracy, out-of-scope rejection and its cost.

Trains the built-in ``intent`` task exactly as ``shopsense train`` does (same data, same
``fit_task`` options, same stratified 80/10/10 split with seed 42), then scores it on:

- the Bitext held-out test: the 1 in 10 Bitext utterances (by hash) that are never trained on;
- its own test split, by source (Chinese, shopping intents, all in-scope);
- the held-out out-of-scope set (``out_of_scope_heldout.jsonl``: off-topic messages on topics absent
  from training, never used for training or calibration).

Ablations on the same split show what each out-of-scope mechanism costs:

- ``none``: no ``out_of_scope`` class and no gate (the in-scope reference).
- ``class``: ``out_of_scope`` trained as a class, no gate.
- ``gate``: no class; a confidence/similarity gate calibrated on the off-topic training messages.
- ``class+gate``: both (the shipped recipe).
- ``class+gate (onnx MiniLM)``: the shipped recipe on the English-only MiniLM encoder.

The shipped recipe trains two frozen heads and publishes one (see ``shopsense.nlp.selection``): the e5 head
on every message (``class+gate, e5 head``) and the routed one (``class+gate, routed``), which reads English
messages with a MiniLM head trained on the English examples and the rest with the e5 head. Both are scored.
Last, the time to read one English message (encoder, one message at a time, no cache) for each encoder.

    .venv/bin/python benchmarks/bench_intent.py [--json OUT] [--cache-dir DIR] [--quick]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopsense.nlp.builtin import benchkit
from shopsense.nlp.builtin.intent import OUT_OF_SCOPE, bitext_test, out_of_scope_heldout
from shopsense.nlp.builtin.train_all import RECIPES, intent_training_data
from shopsense.nlp.classifier import TextClassifier
from shopsense.nlp.routed import LanguageRoutedClassifier
from shopsense.nlp.training import fit_task, prepare_frame, split_frame
from shopsense.text.encoder import get_encoder

DEFAULT_CACHE = Path.home() / ".cache" / "shopsense" / "bench-embeddings"


def _accuracy(gold: pd.Series, pred: list[str]) -> float:
    return float(np.mean(np.asarray(pred, dtype=object) == gold.to_numpy())) if len(gold) else float("nan")


def _score(clf: Any, test: pd.DataFrame, heldout: pd.DataFrame, bitext: pd.DataFrame) -> dict[str, Any]:
    bitext_preds = clf.predict_with_confidence(bitext["text"].tolist())
    out: dict[str, Any] = {
        "acc_bitext_heldout": _accuracy(bitext["label"], [p.label for p in bitext_preds]),
        "acc_bitext_heldout_no_gate": _accuracy(bitext["label"], [max(p.scores, key=p.scores.__getitem__)
                                                                  for p in bitext_preds]),
        "n_bitext_heldout": len(bitext)}
    preds = clf.predict_with_confidence(test["text"].tolist())
    gated = pd.Series([p.label for p in preds], index=test.index)
    in_scope = test["label"] != OUT_OF_SCOPE
    for name, mask in (("bitext_en", test["source"] == "bitext"), ("zh", test["lang"] == "zh"),
                       ("shopping", test["source"] == "shopping"), ("in_scope", in_scope),
                       ("all", pd.Series(True, index=test.index))):
        out[f"acc_{name}"] = _accuracy(test.loc[mask, "label"], gated[mask].tolist())
        out[f"n_{name}"] = int(mask.sum())
    held = clf.predict(heldout["text"].tolist())
    rejected = np.asarray(held, dtype=object) == OUT_OF_SCOPE
    out["oos_heldout_rejected"] = float(rejected.mean())
    for lang in ("en", "zh"):
        out[f"oos_heldout_rejected_{lang}"] = float(rejected[(heldout["lang"] == lang).to_numpy()].mean())
    out["oos_heldout_n"] = len(heldout)
    out["oos_heldout_missed"] = [f"{t} -> {p}" for t, p, r in zip(heldout["text"], held, rejected,
                                                                     strict=True) if not r]
    return out


def _same_head(chosen: dict[str, Any]) -> dict[str, Any]:
    """TextClassifier options that retrain the head the shipped model chose, without the search."""
    if chosen["head"] == "logreg":
        return {"head": "logreg", "c_grid": (chosen["C"],)}
    return {"head": "mlp", "mlp_hidden": chosen["hidden"]}


def _one_message_ms(backend: str, texts: list[str]) -> float:
    """Median milliseconds to encode one message, each encoded alone and without any cache."""
    import statistics
    import time

    encoder = get_encoder(backend)
    encoder.encode(["warm up"])
    spent = []
    for text in texts:
        started = time.perf_counter()
        encoder.encode([text])
        spent.append(1000 * (time.perf_counter() - started))
    return statistics.median(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="smoke run on a small sample")
    args = parser.parse_args()
    info = benchkit.machine()
    print(f"{info['date']}  nproc={info['nproc']}  {info['cpu']}  load={info['load_avg_1m_at_start']}")

    df, oos_texts = intent_training_data(quick=args.quick, seed=args.seed)
    heldout = out_of_scope_heldout()
    bitext = bitext_test()
    frame, _ = prepare_frame(df, "text", "label")
    assert len(frame) == len(df), "no row may be dropped, so that lang/source line up with the split"
    frame = frame.assign(lang=df["lang"].to_numpy(), source=df["source"].to_numpy())
    train, valid, test = split_frame(frame, args.seed)
    cache = str(args.cache_dir)
    times: dict[str, float] = {}
    results: dict[str, dict[str, Any]] = {}

    recipe = RECIPES["intent"].options()
    with benchkit.stopwatch(times, "class+gate"):
        trained = fit_task("intent", df, "text", "label", seed=args.seed, oos_texts=oos_texts,
                           cache_dir=cache, **recipe)
    shipped = trained.classifier
    e5_head = trained.candidates["frozen-head:multilingual"]
    routed = trained.candidates.get("routed-head:onnx+multilingual")
    results["class+gate"] = _score(e5_head, test, heldout, bitext)
    if isinstance(routed, LanguageRoutedClassifier):
        results["class+gate, routed"] = _score(routed, test, heldout, bitext)
    head = _same_head(e5_head.chosen_)
    calib = oos_texts[: (len(oos_texts) + 1) // 2]  # the half fit_task calibrates on

    in_train, in_valid = train[train["label"] != OUT_OF_SCOPE], valid[valid["label"] != OUT_OF_SCOPE]
    oos_train_texts = pd.concat([train, valid]).query("label == @OUT_OF_SCOPE")["text"].tolist()
    arms = {
        "none": (dict(unknown_label=None), in_train, in_valid, None),
        "class": (dict(unknown_label=None), train, valid, None),
        "gate": (dict(unknown_label=OUT_OF_SCOPE), in_train, in_valid, oos_train_texts + calib),
        "class+gate (onnx MiniLM)": (dict(unknown_label=OUT_OF_SCOPE, encoder_backend="onnx"), train, valid,
                                     calib),
    }
    for name, (options, tr, va, oos) in arms.items():
        params = {"encoder_backend": recipe["encoder_backend"], "seed": args.seed, "cache_dir": cache,
                  **head, **options}
        with benchkit.stopwatch(times, name):
            clf = TextClassifier(**params).fit(tr["text"].tolist(), tr["label"].tolist(), va["text"].tolist(),
                                               va["label"].tolist(), valid_oos_texts=oos)
        results[name] = _score(clf, test, heldout, bitext)

    ref_bitext, ref_in = results["none"]["acc_bitext_heldout"], results["none"]["acc_in_scope"]
    rows = []
    for name in ("none", "class", "gate", "class+gate", "class+gate, routed", "class+gate (onnx MiniLM)"):
        if name not in results:
            continue
        r = results[name]
        rows.append([name, r["acc_bitext_heldout"], round(100 * (ref_bitext - r["acc_bitext_heldout"]), 2),
                     r["acc_zh"], r["acc_shopping"], r["acc_in_scope"], round(100 * (ref_in - r["acc_in_scope"]), 2),
                     r["oos_heldout_rejected"], r["oos_heldout_rejected_en"], r["oos_heldout_rejected_zh"],
                     times.get(name, times["class+gate"])])
    print(benchkit.table(
        f"intent: Bitext held-out test of {len(bitext)}; test split of {len(test)} "
        f"({results['none']['n_zh']} Chinese, {results['none']['n_shopping']} shopping, "
        f"{results['none']['n_in_scope']} in scope); held-out off-topic set of {len(heldout)}",
        ["arm", "Bitext acc", "drop (pts)", "zh acc", "shopping acc", "in-scope acc", "drop (pts)",
         "OOS rejected", "OOS en", "OOS zh", "fit s"], rows))
    chosen = {k: v for k, v in shipped.chosen_.items() if k != "candidates"}
    base = trained.card["baselines"][0]["test"] if trained.card["baselines"] else None
    print(f"published: {trained.card['selection']['published']} ({trained.card['selection']['reason']})")
    print(f"published head: {chosen}; gate: {shipped.gate_report()}")
    english_texts = bitext["text"].head(100).tolist()
    speed = {backend: _one_message_ms(backend, english_texts) for backend in ("onnx", "multilingual")}
    print(f"one English message, encoder alone (median of {len(english_texts)}): MiniLM {speed['onnx']:.1f} ms, "
          f"e5 {speed['multilingual']:.1f} ms")
    published = "class+gate, routed" if shipped is routed else "class+gate"
    print(f"published ({published}), Bitext held-out test without the gate: "
          f"{results[published]['acc_bitext_heldout_no_gate']:.4f}")
    if base:
        print(f"TF-IDF baseline (whole test split): accuracy {base['accuracy']:.4f}, "
              f"macro-F1 {base['macro_f1']:.4f}")
    missed = results[published]["oos_heldout_missed"]
    print(f"held-out off-topic messages the published model let through ({len(missed)}):")
    for line in missed:
        print(f"  {line}")
    benchkit.write_json(args.json, {"machine": info, "quick": args.quick, "split_sizes": {
        "train": len(train), "valid": len(valid), "test": len(test)}, "results": results, "fit_seconds": times,
        "shipped_head": chosen, "shipped_gate": shipped.gate_report(), "tfidf_baseline": base,
        "published": trained.card["selection"], "one_message_ms": speed})


if __name__ == "__main__":
    main()
