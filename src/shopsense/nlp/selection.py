"""Which encoder a task's candidates read the data with, and which candidate a task publishes.

The encoder follows the data (:func:`choose_encoders`): the language mix of the training texts
(:func:`shopsense.core.language.language_mix`) decides between all-MiniLM-L6-v2 (``onnx``: fast, English
only) and multilingual-e5-small (``multilingual``: Chinese, English and ~100 languages, ~10-50x slower).
Once :data:`NON_ENGLISH_SHARE` or more of the texts are not English, MiniLM cannot read a meaningful part
of the data and the multilingual encoder is used. An encoder asked for explicitly always wins, with a
warning when it is English-only and the data is not.

The published candidate (:func:`select`) is the one with the best validation macro-F1, under two rules:

1. It is never worse on validation than the TF-IDF baseline: candidates below it are not eligible (the
   TF-IDF model itself always is, unless the task has an out-of-scope label: TF-IDF has no embedding
   to gate on, so then only encoder-based candidates may be published, and the card warns when none of
   them reaches the baseline).
2. Among the eligible candidates within noise of the best — one binomial standard error of the best
   validation score, ``sqrt(f1 * (1 - f1) / n_valid)`` — the routed head (faster on English) is preferred,
   then the one that holds up best under a shift of domain, in the order of :data:`ROBUSTNESS` (measured by
   benchmarks/bench_zh_sentiment.py: train on nine product categories, test on a tenth; see
   docs/benchmarks.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shopsense.core.language import language_mix
from shopsense.nlp.classifier import GatedClassifier, Prediction

NON_ENGLISH_SHARE = 0.10
LANGUAGE_SAMPLE = 5000  # texts read to measure the language mix (seeded sample)
ENGLISH_ONLY = frozenset({"onnx", "torch"})  # both are all-MiniLM-L6-v2
KINDS = ("routed-head", "frozen-head", "tfidf", "ensemble", "fine-tuned")
# Ties (within noise on validation) go to the kind that kept more of its accuracy on a held-out domain
# (benchmarks/bench_zh_sentiment.py, docs/benchmarks.md): trained on nine categories, tested on the tenth,
# TF-IDF lost the most both times (hotels 6.5 points, fruit 1.8); the e5 head (4.6, -0.3) and the blend
# (5.4, 0.0) were within noise of each other, so the simpler head goes first. Fine-tuning: not measured.
# Between the two kinds of frozen head, the routed one (a MiniLM head for English beside the e5 head, see
# shopsense.nlp.routed) goes first: the same kind of model, and it reads an English message 5-10x faster.
ROBUSTNESS = ("routed-head", "frozen-head", "ensemble", "fine-tuned", "tfidf")
TFIDF_NAME = "tfidf-logreg"


@dataclass
class EncoderChoice:
    """The encoder backends the candidates use, why, and the language mix that decided it."""

    backends: list[str]
    reason: str
    languages: dict[str, Any]
    asked: bool
    warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"backends": self.backends, "reason": self.reason, "asked": self.asked,
                "languages": {k: round(v, 4) if isinstance(v, float) else v for k, v in self.languages.items()},
                "warning": self.warning}


def _share(value: float) -> str:
    return "<1%" if 0 < value < 0.005 else f"{value:.0%}"


def _mix_text(mix: dict[str, Any]) -> str:
    parts = [f"{_share(mix[lang])} {name}" for lang, name in (("en", "English"), ("zh", "Chinese"),
                                                               ("other", "other languages")) if mix[lang]]
    return f"{', '.join(parts) or 'no letters'} in {mix['texts']:,} training texts"


def choose_encoders(asked: str | Sequence[str] | None, texts: Sequence[str], seed: int = 42) -> EncoderChoice:
    """The backends for the encoder heads: ``asked`` (a backend, a comma-separated list or a list), or
    the one the language mix of ``texts`` calls for."""
    import numpy as np

    if len(texts) > LANGUAGE_SAMPLE:
        picked = np.random.default_rng(seed).choice(len(texts), LANGUAGE_SAMPLE, replace=False)
        texts = [texts[i] for i in sorted(picked)]
    mix = language_mix(texts)
    non_english = mix["zh"] + mix["other"]
    if asked:
        backends = [b.strip() for b in (asked.split(",") if isinstance(asked, str) else asked) if b.strip()]
        from shopsense.text.encoder import BACKENDS

        unknown = [b for b in backends if b not in BACKENDS]
        if unknown:
            raise ValueError(f"unknown encoder backend(s) {', '.join(map(repr, unknown))}; choose from "
                             f"{', '.join(BACKENDS)}")
        warning = None
        if non_english >= NON_ENGLISH_SHARE and set(backends) <= ENGLISH_ONLY:
            warning = (f"{non_english:.0%} of the training texts are not English ({_mix_text(mix)}) but "
                       f"{', '.join(backends)} reads English only; --encoder multilingual (the default for "
                       "such data) reads them")
        return EncoderChoice(list(dict.fromkeys(backends)), f"asked for (--encoder {','.join(backends)}); "
                             f"{_mix_text(mix)}", mix, True, warning)
    if non_english >= NON_ENGLISH_SHARE:
        reason = (f"{_mix_text(mix)}: {non_english:.0%} not English (>= {NON_ENGLISH_SHARE:.0%}), so "
                  "multilingual-e5-small, which reads Chinese and English alike (MiniLM reads English only)")
        return EncoderChoice(["multilingual"], reason, mix, False)
    reason = (f"{_mix_text(mix)}: under {NON_ENGLISH_SHARE:.0%} not English, so all-MiniLM-L6-v2 (ONNX), "
              "fast and English (--encoder multilingual or onnx,multilingual to try the multilingual one)")
    return EncoderChoice(["onnx"], reason, mix, False)


@dataclass
class Candidate:
    """One trained model a task may publish, with its validation and test figures."""

    name: str
    kind: str
    classifier: GatedClassifier
    valid: dict[str, Any]
    test: dict[str, Any]
    test_predictions: list[Prediction] = field(repr=False)
    fit_seconds: float
    encoder: dict[str, Any] | None = None
    eligible: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def valid_f1(self) -> float:
        return float(self.valid["macro_f1"])

    @property
    def has_gate(self) -> bool:
        """Whether the model has embeddings for the out-of-scope gate (TF-IDF has none)."""
        return self.kind != "tfidf"

    def entry(self, published: bool) -> dict[str, Any]:
        """What the model card lists for this candidate."""
        test = {k: self.test[k] for k in ("n", "accuracy", "macro_f1", "weighted_f1")}
        return {"name": self.name, "kind": self.kind, "published": published, "eligible": self.eligible,
                "valid": self.valid, "test": test, "fit_seconds": self.fit_seconds, "encoder": self.encoder,
                "notes": self.notes}


def noise(f1: float, n_valid: int) -> float:
    """One binomial standard error of a validation score: the difference below which two are tied."""
    return math.sqrt(max(f1 * (1 - f1), 0.0) / max(n_valid, 1))


def select(candidates: list[Candidate], n_valid: int, unknown_label: str | None = None,
           allowed: Sequence[str] | None = None) -> tuple[Candidate, dict[str, Any]]:
    """The candidate to publish and the card's ``selection`` entry (rule, reason, warnings); marks
    each candidate ``eligible`` with notes saying why not. ``allowed``: the kinds that may be published."""
    if not candidates:
        raise ValueError("no candidate to choose from")
    warnings: list[str] = []
    for cand in candidates:
        if allowed is not None and cand.kind not in allowed:
            cand.eligible = False
            cand.notes.append(f"not asked for (candidates: {', '.join(allowed)})")
        elif unknown_label and not cand.has_gate:
            cand.eligible = False
            cand.notes.append(f"no out-of-scope gate (no embeddings) and the task has unknown_label "
                              f"{unknown_label!r}")
    eligible = [c for c in candidates if c.eligible]
    if not eligible:
        raise ValueError("none of the trained candidates may be published "
                         f"({'; '.join(f'{c.name}: {n}' for c in candidates for n in c.notes)})")
    floor = next((c for c in candidates if c.kind == "tfidf"), None)
    if floor is not None:
        above = [c for c in eligible if c.valid_f1 >= floor.valid_f1]
        for cand in eligible:
            if cand not in above:
                cand.notes.append(f"below the TF-IDF baseline on validation ({cand.valid_f1:.4f} < "
                                  f"{floor.valid_f1:.4f})")
        if above:
            for cand in eligible:
                cand.eligible = cand in above
            eligible = above
        else:
            warnings.append(f"no candidate that may be published reaches the TF-IDF baseline's validation "
                            f"macro-F1 ({floor.valid_f1:.4f}); published the best of them")
    best = max(eligible, key=lambda c: c.valid_f1)
    margin = noise(best.valid_f1, n_valid)
    tied = [c for c in eligible if c.valid_f1 >= best.valid_f1 - margin]
    winner = min(tied, key=lambda c: (ROBUSTNESS.index(c.kind), -c.valid_f1, candidates.index(c)))
    why = ("the frozen head that reads English messages 5-10x faster" if winner.kind == "routed-head" else
           "the kind that holds up better on a shifted domain")
    if winner is best or len(tied) == 1:
        reason = f"best validation macro-F1 ({winner.valid_f1:.4f})"
    elif winner.valid_f1 >= best.valid_f1:
        reason = f"best validation macro-F1 ({winner.valid_f1:.4f}), tied with {best.name}; preferred as {why}"
    else:
        reason = (f"validation macro-F1 {winner.valid_f1:.4f}, within noise (±{margin:.4f}) of the best, "
                  f"{best.name} ({best.valid_f1:.4f}); preferred as {why}")
    if floor is not None and winner is not floor and winner.valid_f1 >= floor.valid_f1:
        reason += f"; TF-IDF baseline {floor.valid_f1:.4f}"
    selection = {"published": winner.name, "reason": reason, "noise": round(margin, 4), "valid_n": n_valid,
                 "rule": "best validation macro-F1 among candidates not below the TF-IDF baseline; within "
                         "noise (one standard error), the faster, then the more robust kind: " + " > ".join(ROBUSTNESS),
                 "warnings": warnings}
    return winner, selection
