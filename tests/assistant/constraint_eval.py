"""The shopping-constraint evaluation set (tests/assistant/data/constraints_eval.tsv) and its per-slot
precision and recall; used by the test and by benchmarks/bench_shopping.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shopsense.assistant.constraints import extract

EVAL_SET = Path(__file__).parent / "data" / "constraints_eval.tsv"
SLOTS = ("age", "child", "min_price", "max_price", "type", "theme", "occasion")


def load_eval_set(path: Path = EVAL_SET) -> list[tuple[str, dict[str, Any]]]:
    """(message, gold slots) per line; "-" is "not stated"."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, age, child, low, high, types, themes, occasion = line.split("\t")
        none = (lambda v: None if v == "-" else v)  # noqa: E731
        rows.append((text, {"age": None if age == "-" else float(age),
                            "child": {"y": True, "n": False}.get(child),
                            "min_price": None if low == "-" else float(low),
                            "max_price": None if high == "-" else float(high),
                            "type": frozenset(types.split(",")) if types != "-" else None,
                            "theme": frozenset(themes.split(",")) if themes != "-" else None,
                            "occasion": none(occasion)}))
    return rows


def predicted(text: str) -> dict[str, Any]:
    found = extract(text)
    return {"age": found.age_months, "child": found.child, "min_price": found.min_price,
            "max_price": found.max_price, "type": frozenset(found.types) or None,
            "theme": frozenset(found.themes) or None, "occasion": found.occasion}


def per_slot_scores(rows: list[tuple[str, dict[str, Any]]]) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Precision and recall per slot (a prediction is right when it equals the gold value), and the misses."""
    counts = {s: {"tp": 0, "predicted": 0, "gold": 0} for s in SLOTS}
    misses = []
    for text, gold in rows:
        guess = predicted(text)
        for slot in SLOTS:
            if guess[slot] is not None:
                counts[slot]["predicted"] += 1
            if gold[slot] is not None:
                counts[slot]["gold"] += 1
            if guess[slot] is not None and guess[slot] == gold[slot]:
                counts[slot]["tp"] += 1
            elif guess[slot] != gold[slot]:
                misses.append(f"{slot}: {text!r} -> {guess[slot]!r}, expected {gold[slot]!r}")
    scores = {s: {"precision": c["tp"] / c["predicted"] if c["predicted"] else 1.0,
                  "recall": c["tp"] / c["gold"] if c["gold"] else 1.0, "support": c["gold"]}
              for s, c in counts.items()}
    return scores, misses
