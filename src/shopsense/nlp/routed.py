"""Two frozen heads behind one task: English messages read by all-MiniLM-L6-v2, every other one by
multilingual-e5-small.

e5 reads Chinese and English in one space, but on two cores it takes 10-26 ms to read one message; MiniLM
reads English in about 2 ms, and reads it as well (benchmarks/bench_intent.py). A task whose data mixes
the languages trains a MiniLM head on its English examples beside the e5 head on all of them; a message is
routed by :func:`shopsense.core.language.detect_language` at prediction time. Each head keeps its own
out-of-scope gate, calibrated on validation examples of its own language, because the two encoders'
similarity scales differ (e5's cosines sit in about 0.75-0.9).

Saved as two sub-folders (``english/``, ``other/``, each a frozen head) plus ``classifier.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shopsense.core.atomic import dumps
from shopsense.core.language import detect_language
from shopsense.nlp.classifier import CONFIG_FILE, FORMAT_VERSION, GatedClassifier, Prediction, TextClassifier

KIND = "routed-head"
ENGLISH_DIR, OTHER_DIR = "english", "other"
ROUTED_LANGUAGE = "en"


def english_rows(texts: Sequence[str]) -> np.ndarray:
    """Which texts the English head reads (a boolean mask)."""
    return np.asarray([detect_language(t) == ROUTED_LANGUAGE for t in texts], dtype=bool)


class LanguageRoutedClassifier(GatedClassifier):
    """``english`` (a MiniLM head) for English texts, ``other`` (an e5 head on every language) for the rest.

    The English head may know fewer classes than the other (a class with no English example); its scores
    for the classes it lacks are 0.
    """

    gate_ = None  # each head gates its own language

    def __init__(self, english: TextClassifier, other: TextClassifier) -> None:
        missing = sorted(set(english.classes_) - set(other.classes_))
        if missing:
            raise ValueError(f"the English head has classes the other head lacks: {', '.join(missing)}")
        self.english = english
        self.other = other
        self.classes_ = list(other.classes_)
        self.unknown_label = other.unknown_label
        self.mask_pii = other.mask_pii
        self.centroids_ = other.centroids_
        self._english_columns = [self.classes_.index(c) for c in english.classes_]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        def own(head: TextClassifier) -> dict[str, Any]:
            return {k: v for k, v in head.get_params().items() if k not in ("cache_dir", "verbose")}

        return {"route": {ROUTED_LANGUAGE: ENGLISH_DIR, "other": OTHER_DIR}, "english": own(self.english),
                "other": own(self.other)}

    @property
    def encoder_backend(self) -> str:
        return f"{self.english.encoder_backend}+{self.other.encoder_backend}"

    @property
    def encoder_model_id_(self) -> str:
        return f"{self.english.encoder_model_id_} (English), {self.other.encoder_model_id_} (other languages)"

    @property
    def chosen_(self) -> dict[str, Any]:
        return {"english": self.english.chosen_, "other": self.other.chosen_}

    def gate_report(self) -> dict[str, Any]:
        """The other head's gate (the one most messages in most languages meet), and the English head's."""
        english = self.english.gate_report()
        return {**self.other.gate_report(), **({"english": english} if english else {})}

    def _routes(self, texts: list[str]) -> list[tuple[TextClassifier, np.ndarray, list[str]]]:
        """``(head, row numbers, their texts)`` for each head that has texts to read."""
        english = english_rows(texts)
        routes = []
        for head, mask in ((self.english, english), (self.other, ~english)):
            rows = np.flatnonzero(mask)
            if len(rows):
                routes.append((head, rows, [texts[i] for i in rows]))
        return routes

    def _forward(self, texts: list[str]) -> tuple[np.ndarray, None]:
        probs = np.zeros((len(texts), len(self.classes_)), dtype=np.float32)
        for head, rows, part in self._routes(texts):
            columns = self._english_columns if head is self.english else slice(None)
            probs[np.ix_(rows, np.arange(len(self.classes_))[columns])] = head._forward(part)[0]
        return probs, None

    def predict_clean(self, texts: list[str]) -> list[Prediction]:
        out: list[Prediction] = [None] * len(texts)  # type: ignore[list-item] - every slot is filled below
        for head, rows, part in self._routes(texts):
            for i, found in zip(rows, head.predict_clean(part), strict=True):
                scores = {c: found.scores.get(c, 0.0) for c in self.classes_}
                out[i] = Prediction(found.label, found.confidence, scores, found.in_scope, found.similarity)
        return out

    # ---- persistence ---------------------------------------------------------------------------
    def save(self, directory: Path | str) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.english.save(directory / ENGLISH_DIR)
        self.other.save(directory / OTHER_DIR)
        config = {"kind": KIND, "format": FORMAT_VERSION, "classes": self.classes_,
                  "route": {ROUTED_LANGUAGE: ENGLISH_DIR, "other": OTHER_DIR}}
        (directory / CONFIG_FILE).write_text(dumps(config), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path | str, cache_dir: str | Path | None = None) -> LanguageRoutedClassifier:
        directory = Path(directory)
        config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
        if config.get("kind") != KIND:
            raise ValueError(f"{directory} holds a {config.get('kind')!r} model, not a {KIND} one")
        return cls(TextClassifier.load(directory / ENGLISH_DIR, cache_dir=cache_dir),
                   TextClassifier.load(directory / OTHER_DIR, cache_dir=cache_dir))
