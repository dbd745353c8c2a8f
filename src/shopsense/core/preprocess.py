"""Step 1 of every pipeline: clean, mask personal data, drop duplicate reviews, tag languages.

:func:`prepare_store` takes a loaded :class:`~shopsense.core.records.StoreData` and returns a new one
ready to be stored, indexed or trained on, together with a :class:`PrepReport` saying what changed.
The input is never modified.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from shopsense.core.cleaning import clean_text
from shopsense.core.dedupe import DuplicateReport, find_duplicate_reviews
from shopsense.core.language import detect_language
from shopsense.core.pii import KINDS, redact
from shopsense.core.records import StoreData

log = logging.getLogger(__name__)

# (table, column, keep line breaks, mask personal data)
TEXT_FIELDS: tuple[tuple[str, str, bool, bool], ...] = (
    ("items", "title", False, True),
    ("items", "description", True, True),
    ("items", "brand", False, False),
    ("items", "category", False, False),
    ("reviews", "title", False, True),
    ("reviews", "text", False, True),
    ("faq", "question", False, True),
    ("faq", "answer", True, True),
)
_EXAMPLES = 5


@dataclass
class PrepReport:
    """What :func:`prepare_store` did: values changed by cleaning, PII masked, duplicates, languages."""

    cleaned: dict[str, int] = field(default_factory=dict)
    pii: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    pii_by_field: dict[str, dict[str, int]] = field(default_factory=dict)
    duplicates: dict[str, Any] = field(default_factory=dict)
    duplicate_examples: list[dict[str, Any]] = field(default_factory=list)
    languages: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": dict(self.rows),
            "cleaned": dict(self.cleaned),
            "pii": dict(self.pii),
            "pii_by_field": {k: dict(v) for k, v in self.pii_by_field.items()},
            "duplicates": dict(self.duplicates),
            "duplicate_examples": [dict(e) for e in self.duplicate_examples],
            "languages": dict(self.languages),
        }


def _prepare_column(values: pd.Series, keep_newlines: bool,
                    mask: bool) -> tuple[list[str], int, Counter[str]]:
    """Cleaned (and masked) values, how many differ from the input, and PII counts by kind."""
    out: list[str] = []
    changed = 0
    counts: Counter[str] = Counter()
    for value in values.tolist():
        text = clean_text(value, keep_newlines=keep_newlines)
        if mask and text:
            text, spans = redact(text)
            counts.update(s.kind for s in spans)
        if text != value:
            changed += 1
        out.append(text)
    return out, changed, counts


def prepare_store(store: StoreData, dedupe: bool = True,
                  threshold: float = 0.9) -> tuple[StoreData, PrepReport]:
    """A cleaned, PII-masked copy of ``store`` (duplicate reviews removed) and the report of what changed.

    Text fields: item title/description (masked) and brand/category (cleaned only), review title/text,
    FAQ question/answer. Descriptions and FAQ answers keep their line breaks. Reviews get a ``lang``
    column (``en``/``zh``/``other``, from the text, or the title when the text is empty); duplicates
    (see :mod:`shopsense.core.dedupe`) are dropped and the review index is reset (the report's examples
    name reviews by ``review_id``). Other tables are copied
    unchanged.
    """
    report = PrepReport()
    tables = {name: store.table(name).copy() for name in StoreData.TABLES}
    for table, column, keep_newlines, mask in TEXT_FIELDS:
        frame = tables[table]
        if column not in frame.columns or frame.empty:
            continue
        values, changed, counts = _prepare_column(frame[column], keep_newlines, mask)
        frame[column] = pd.Series(values, index=frame.index, dtype=object)
        key = f"{table}.{column}"
        report.cleaned[key] = changed
        if mask:
            report.pii_by_field[key] = {k: counts.get(k, 0) for k in KINDS}
            for kind, n in counts.items():
                report.pii[kind] += n

    # Positional labels, so that duplicate pairs are unambiguous even if the input index was not unique.
    reviews = tables["reviews"].reset_index(drop=True)
    if dedupe and len(reviews) > 1 and "text" in reviews.columns:
        dup = find_duplicate_reviews(reviews, threshold=threshold)
        report.duplicates = dup.summary()
        report.duplicate_examples = _examples(reviews, dup)
        reviews = reviews.drop(index=list(dup.drop_index))
    else:
        report.duplicates = DuplicateReport(n_reviews=len(reviews), threshold=threshold).summary()
    reviews = reviews.reset_index(drop=True)
    if "text" in reviews.columns:
        titles = reviews["title"] if "title" in reviews.columns else pd.Series("", index=reviews.index)
        reviews["lang"] = [detect_language(t if t else ti)
                           for t, ti in zip(reviews["text"], titles, strict=True)]
        report.languages = {k: int(v) for k, v in reviews["lang"].value_counts().items()}
    tables["reviews"] = reviews
    report.rows = {name: len(frame) for name, frame in tables.items()}
    log.info("prepared store: rows %s, cleaned %s, pii masked %s, duplicates %s, languages %s",
             report.rows, report.cleaned, report.pii, report.duplicates, report.languages)
    return StoreData(**tables), report


def _examples(reviews: pd.DataFrame, dup: DuplicateReport) -> list[dict[str, Any]]:
    def ident(label: Any) -> Any:
        if "review_id" in reviews.columns and pd.notna(reviews.at[label, "review_id"]):
            label = reviews.at[label, "review_id"]
        return label.item() if hasattr(label, "item") else label

    def snippet(label: Any) -> str:
        return str(reviews.at[label, "text"])[:120]

    pairs = [(k, d, "exact", 1.0) for k, d in dup.exact[:_EXAMPLES]]
    pairs += [(k, d, "near", s) for k, d, s in dup.near[:_EXAMPLES]]
    return [{"kind": kind, "kept": ident(k), "dropped": ident(d), "similarity": sim,
             "kept_text": snippet(k), "dropped_text": snippet(d)} for k, d, kind, sim in pairs]
