"""The combination of an encoder head and the TF-IDF model: a weighted average of their probabilities.

``p = w * p_head + (1 - w) * p_tfidf``, with the weight ``w`` chosen on validation macro-F1 (stacking
with one learned parameter: both parts are already fitted, so the blend costs no training). The two
read text differently — the encoder generalises across wording and, for the multilingual one, across
languages; TF-IDF keeps the exact words and characters of the domain — and their errors overlap less
than either alone.

The blend keeps the encoder's embeddings, so the out-of-scope gate works as for a head alone: class
centroids are the head's, the confidence is the blended one, thresholds calibrated on validation.
Saved as two sub-folders (``encoder-head/``, ``tfidf/``) plus ``classifier.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shopsense.core.atomic import dumps
from shopsense.nlp.classifier import (
    CONFIG_FILE,
    FORMAT_VERSION,
    GatedClassifier,
    OutOfScopeGate,
    TextClassifier,
    _macro_f1,
    clean_texts,
)
from shopsense.nlp.tfidf import TfidfClassifier

KIND = "ensemble"
HEAD_DIR, TFIDF_DIR = "encoder-head", "tfidf"


class EnsembleClassifier(GatedClassifier):
    """A fitted :class:`TextClassifier` and a fitted :class:`TfidfClassifier`, blended.

    ``fit`` chooses the weight in ``weight_grid`` on validation (ties: the weight nearest 0.5) and
    calibrates the out-of-scope gate when ``unknown_label`` is set.
    """

    def __init__(self, head: TextClassifier, tfidf: TfidfClassifier,
                 weight_grid: Sequence[float] = (0.2, 0.35, 0.5, 0.65, 0.8), unknown_label: str | None = None,
                 oos_max_drop: float = 0.01, oos_quantile: float | None = None, mask_pii: bool = True) -> None:
        self.head = head
        self.tfidf = tfidf
        self.weight_grid = weight_grid
        self.unknown_label = unknown_label
        self.oos_max_drop = oos_max_drop
        self.oos_quantile = oos_quantile
        self.mask_pii = mask_pii

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params: dict[str, Any] = {"weight_grid": list(self.weight_grid), "unknown_label": self.unknown_label,
                                  "oos_max_drop": self.oos_max_drop, "oos_quantile": self.oos_quantile,
                                  "mask_pii": self.mask_pii}
        if deep:
            head = {k: v for k, v in self.head.get_params().items() if k not in ("cache_dir", "verbose")}
            params.update({"head": head, "tfidf": self.tfidf.get_params()})
        return params

    @property
    def encoder_model_id_(self) -> str:
        return self.head.encoder_model_id_

    @property
    def encoder_backend(self) -> str:
        return self.head.encoder_backend

    def _parts(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        head_probs, emb = self.head._forward(texts)
        return head_probs, self.tfidf._forward(texts)[0], emb

    def _forward(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        head_probs, tfidf_probs, emb = self._parts(texts)
        return self.weight_ * head_probs + (1 - self.weight_) * tfidf_probs, emb

    def fit(self, valid_texts: Sequence[str], valid_labels: Sequence[Any],
            valid_oos_texts: Sequence[str] | None = None) -> EnsembleClassifier:
        """Choose the weight on validation and calibrate the gate (the parts are fitted already)."""
        if self.head.classes_ != self.tfidf.classes_:
            raise ValueError(f"the parts disagree on the classes: {self.head.classes_} vs {self.tfidf.classes_}")
        self.classes_ = list(self.head.classes_)
        self.centroids_ = self.head.centroids_
        v_text = clean_texts(valid_texts, self.mask_pii)
        vy = np.asarray([str(v) for v in valid_labels], dtype=object)
        head_probs, tfidf_probs, emb = self._parts(v_text)
        self.selection_: list[dict[str, Any]] = []
        best_key: tuple[float, float] | None = None
        for w in self.weight_grid:
            probs = w * head_probs + (1 - w) * tfidf_probs
            f1 = round(_macro_f1(vy, np.asarray(self.classes_)[probs.argmax(axis=1)]), 4)
            self.selection_.append({"weight": float(w), "valid_macro_f1": f1})
            key = (f1, -abs(w - 0.5))
            if best_key is None or key > best_key:
                best_key, self.weight_ = key, float(w)
        self.gate_ = None
        if self.unknown_label:
            probs = self.weight_ * head_probs + (1 - self.weight_) * tfidf_probs
            oos = self._forward(clean_texts(valid_oos_texts, self.mask_pii)) if valid_oos_texts else None
            self._calibrate_gate(probs, emb, vy, oos, self.oos_max_drop, self.oos_quantile)
        return self

    @property
    def chosen_(self) -> dict[str, Any]:
        """The head's choice, the TF-IDF model's ``C`` and the blend weight (what a model card records)."""
        return {**self.head.chosen_, "tfidf": self.tfidf.chosen_, "weight": self.weight_}

    # ---- persistence ---------------------------------------------------------------------------
    def save(self, directory: Path | str) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.head.save(directory / HEAD_DIR)
        self.tfidf.save(directory / TFIDF_DIR)
        config = {"kind": KIND, "format": FORMAT_VERSION, "params": self.get_params(deep=False),
                  "classes": self.classes_, "weight": self.weight_, "selection": self.selection_,
                  "parts": {"head": HEAD_DIR, "tfidf": TFIDF_DIR},
                  "gate": self.gate_.to_dict() if self.gate_ is not None else None}
        (directory / CONFIG_FILE).write_text(dumps(config), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path | str, cache_dir: str | Path | None = None) -> EnsembleClassifier:
        directory = Path(directory)
        config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
        if config.get("kind") != KIND:
            raise ValueError(f"{directory} holds a {config.get('kind')!r} model, not an ensemble")
        head = TextClassifier.load(directory / config["parts"]["head"], cache_dir=cache_dir)
        tfidf = TfidfClassifier.load(directory / config["parts"]["tfidf"])
        model = cls(head, tfidf, **config["params"])
        model.classes_ = list(config["classes"])
        model.centroids_ = head.centroids_
        model.weight_, model.selection_ = float(config["weight"]), config["selection"]
        model.gate_ = OutOfScopeGate.from_dict(config["gate"]) if config.get("gate") else None
        return model
