"""Load a trained text-classification task from the registry and predict with it.

Works the same for every kind a task may publish: a head on frozen embeddings, the TF-IDF model, their
combination, and a fine-tuned ONNX model (which needs only onnxruntime, not torch). Encoders are loaded
once per backend per process by :func:`shopsense.text.encoder.get_encoder`; loaded models are kept per
version directory, which is safe because published versions never change.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from shopsense.nlp.classifier import CONFIG_FILE, GatedClassifier, Prediction, TextClassifier
from shopsense.nlp.training import TASK_KIND
from shopsense.registry import ModelVersion, NotFoundError, Registry


class UnknownTaskError(LookupError):
    """The task asked for has not been trained (or is not a text-classification model)."""


@dataclass
class TaskModel:
    """A trained task ready to predict: its classifier, registry version and model card."""

    name: str
    version: ModelVersion
    classifier: GatedClassifier

    @property
    def labels(self) -> list[str]:
        """Every label a prediction can carry (including the unknown label, if the task has one)."""
        return self.classifier.labels

    @property
    def card(self) -> dict[str, Any]:
        return self.version.card

    @property
    def unknown_label(self) -> str | None:
        return self.classifier.unknown_label

    def predict(self, texts: Sequence[str]) -> list[str]:
        return self.classifier.predict(list(texts))

    def predict_with_confidence(self, texts: Sequence[str]) -> list[Prediction]:
        return self.classifier.predict_with_confidence(list(texts))


def trained_tasks(registry: Registry) -> list[str]:
    """Names of the text-classification tasks in the registry."""
    out = []
    for model in registry.models():
        latest = registry.get(model, "latest")
        if latest.card.get("kind") == TASK_KIND:
            out.append(model)
    return out


def load_task(name: str, registry: Registry, alias: str = "production") -> TaskModel:
    """The task's version ``alias`` (``production``, ``latest`` or a version such as ``v0002``)."""
    try:
        version = registry.get(name, alias)
    except NotFoundError as exc:
        if name in registry.models():
            raise UnknownTaskError(str(exc)) from exc
        tasks = ", ".join(trained_tasks(registry)) or "none yet; train one with `shopsense nlp train`"
        raise UnknownTaskError(f"no trained task named {name!r} (trained tasks: {tasks})") from exc
    if version.card.get("kind") != TASK_KIND:
        raise UnknownTaskError(f"{name!r} is a {version.card.get('kind', 'different')!r} model, not a text "
                               f"classification task (trained tasks: {', '.join(trained_tasks(registry))})")
    return TaskModel(name=name, version=version, classifier=load_classifier(version.path))


def load_classifier(directory: Path) -> GatedClassifier:
    """The classifier saved in ``directory``, whichever kind it is."""
    return _load_cached(str(Path(directory).resolve()))


@lru_cache(maxsize=8)
def _load_cached(directory: str) -> GatedClassifier:
    path = Path(directory)
    kind = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8")).get("kind")
    if kind == "frozen-head":
        return TextClassifier.load(path)
    if kind == "fine-tuned":
        from shopsense.nlp.finetune import FineTunedClassifier

        return FineTunedClassifier.load(path)
    if kind == "tfidf":
        from shopsense.nlp.tfidf import TfidfClassifier

        return TfidfClassifier.load(path)
    if kind == "routed-head":
        from shopsense.nlp.routed import LanguageRoutedClassifier

        return LanguageRoutedClassifier.load(path)
    if kind == "ensemble":
        from shopsense.nlp.ensemble import EnsembleClassifier

        return EnsembleClassifier.load(path)
    raise ValueError(f"{path / CONFIG_FILE}: unknown classifier kind {kind!r}")
