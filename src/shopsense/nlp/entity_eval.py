"""Span-level evaluation of entity extraction against gold spans (e.g. the Bitext entity annotations)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from shopsense.nlp.entities import EntityExtractor

# Bitext's entity types and the extractor type that answers each (refund amounts are money).
BITEXT_TYPES: dict[str, str] = {
    "order_id": "order_id", "invoice_id": "invoice_id", "refund_amount": "money",
    "delivery_city": "delivery_city", "delivery_country": "delivery_country",
    "person_name": "person_name", "account_type": "account_type",
}


@dataclass(frozen=True)
class GoldExample:
    """A message with its gold entity spans: (type, start, end)."""

    text: str
    spans: tuple[tuple[str, int, int], ...]


def load_bitext_spans(path: Path) -> list[GoldExample]:
    """Messages of the Bitext 4.5k file, each with its annotated span (messages without one: no spans)."""
    frame = pd.read_csv(path, usecols=["instruction", "entity_type", "start_offset", "end_offset"])
    examples = []
    for row in frame.itertuples(index=False):
        spans: tuple[tuple[str, int, int], ...] = ()
        text = str(row.instruction)
        if isinstance(row.entity_type, str) and row.entity_type in BITEXT_TYPES:
            # A few gold spans run past the end of their message (upstream noise): clip them.
            spans = ((row.entity_type, int(row.start_offset), min(int(row.end_offset), len(text))),)
        examples.append(GoldExample(text, spans))
    return examples


def _digits_span(text: str, start: int, end: int) -> tuple[int, int]:
    # Gold refund amounts cover only the number ("$12" -> "12"): compare on the numeric core.
    while start < end and not text[start].isdigit():
        start += 1
    while end > start and not text[end - 1].isdigit():
        end -= 1
    return start, end


def span_scores(extractor: EntityExtractor, examples: list[GoldExample],
                types: dict[str, str] = BITEXT_TYPES) -> dict[str, dict[str, float]]:
    """Per gold type: precision, recall and F1, exact-span and overlapping-span, plus support."""
    answer_to_gold = {ours: gold for gold, ours in types.items()}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for example in examples:
        predicted = []
        for entity in extractor.extract(example.text):
            if entity.type not in answer_to_gold:
                continue
            start, end = entity.start, entity.end
            if entity.type == "money":
                start, end = _digits_span(example.text, start, end)
            predicted.append((answer_to_gold[entity.type], start, end))
        for gold_type, g_start, g_end in example.spans:
            counts[gold_type]["support"] += 1
            if (gold_type, g_start, g_end) in predicted:
                counts[gold_type]["exact_tp"] += 1
            if any(t == gold_type and s < g_end and g_start < e for t, s, e in predicted):
                counts[gold_type]["overlap_tp"] += 1
        for p_type, p_start, p_end in predicted:
            counts[p_type]["predicted"] += 1
            if (p_type, p_start, p_end) in example.spans:
                counts[p_type]["exact_hit"] += 1
            if any(t == p_type and s < p_end and p_start < e for t, s, e in example.spans):
                counts[p_type]["overlap_hit"] += 1
    report: dict[str, dict[str, float]] = {}
    for gold_type in types:
        c = counts[gold_type]
        row: dict[str, float] = {"support": c["support"], "predicted": c["predicted"]}
        for mode in ("exact", "overlap"):
            precision = c[f"{mode}_hit"] / c["predicted"] if c["predicted"] else 0.0
            recall = c[f"{mode}_tp"] / c["support"] if c["support"] else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            row |= {f"{mode}_precision": precision, f"{mode}_recall": recall, f"{mode}_f1": f1}
        report[gold_type] = row
    return report
