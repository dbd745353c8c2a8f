"""Train a text-classification task end to end and publish it to the registry with its model card.

:func:`train_task` validates the data, splits it 80/10/10 (stratified, seeded), trains the model (a head
on frozen embeddings, or full fine-tuning with ``full=True``), scores it on the test part next to a
TF-IDF + logistic-regression baseline (and, for fine-tuning, the frozen-head model), and publishes model
files, ``card.json``, ``MODEL_CARD.md`` and ``confusion_matrix.png`` as one atomic registry version.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import shopsense
from shopsense.nlp.classifier import GatedClassifier, TextClassifier, clean_texts
from shopsense.nlp.reports import classification_metrics, confusion_png, model_card_markdown
from shopsense.registry import ModelVersion, Registry, check_model_name
from shopsense.registry.registry import RegistryError

TASK_KIND = "text-classifier"
MIN_PER_CLASS = 5
SPLIT = (0.8, 0.1, 0.1)


class TrainingDataError(ValueError):
    """Training data that cannot be used as given: a missing column, too few examples, one class only."""


def content_sha256(texts: Sequence[str], labels: Sequence[str]) -> str:
    """A hash of the (text, label) pairs in order: the identity of the data a model was trained on."""
    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(text.encode("utf-8") + b"\x1f" + label.encode("utf-8") + b"\x1e")
    return digest.hexdigest()


def prepare_frame(df: pd.DataFrame, text_col: str, label_col: str, source: str | None = None,
                  min_per_class: int = MIN_PER_CLASS) -> tuple[pd.DataFrame, dict[str, int]]:
    """``text``/``label`` columns as clean strings, rows without either dropped; checks class sizes."""
    where = f" in {source}" if source else ""
    for col in (text_col, label_col):
        if col not in df.columns:
            raise TrainingDataError(f"column {col!r} not found{where}; available columns: "
                                    f"{', '.join(map(str, df.columns)) or '(none)'}")
    text = df[text_col].astype(object).where(df[text_col].notna(), "").astype(str).str.strip()
    label = df[label_col].astype(object).where(df[label_col].notna(), "").astype(str).str.strip()
    empty_text, empty_label = text.eq(""), label.eq("")
    dropped = {"empty_text": int(empty_text.sum()), "empty_label": int((empty_label & ~empty_text).sum())}
    frame = pd.DataFrame({"text": text, "label": label})[~(empty_text | empty_label)]
    counts = frame["label"].value_counts()
    if len(counts) < 2:
        raise TrainingDataError(f"column {label_col!r}{where} needs at least two distinct labels to train a "
                                f"classifier; found {len(counts)} ({', '.join(counts.index[:3]) or 'none'})")
    small = counts[counts < min_per_class]
    if len(small):
        listed = ", ".join(f"{k!r} ({v})" for k, v in small.items())
        raise TrainingDataError(f"every label needs at least {min_per_class} examples to split into "
                                f"train/valid/test; too few in column {label_col!r}{where}: {listed}. "
                                "Add examples or remove those labels")
    return frame.reset_index(drop=True), dropped


def split_frame(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stratified, seeded 80/10/10 split (``shopsense.core.splits.stratified_split``)."""
    from shopsense.core.splits import stratified_split

    parts = stratified_split(frame, "label", SPLIT, seed=seed)
    return parts.train, parts.valid, parts.test


def tfidf_baseline(train: pd.DataFrame, valid: pd.DataFrame, test: pd.DataFrame,
                   seed: int) -> dict[str, Any]:
    """TF-IDF (character 2-4-grams within words: works for English and Chinese alike) + logistic
    regression, C chosen on valid macro-F1. Returns the baseline's card entry."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from threadpoolctl import threadpool_limits

    x_train, x_valid, x_test = (clean_texts(p["text"].tolist()) for p in (train, valid, test))
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True,
                                 min_df=2 if len(train) >= 1000 else 1, max_features=200_000)
    xt = vectorizer.fit_transform(x_train)
    xv, xs = vectorizer.transform(x_valid), vectorizer.transform(x_test)
    best: tuple[float, float, Any] | None = None
    with threadpool_limits(limits=1):
        for c in (1.0, 10.0, 100.0):
            model = LogisticRegression(C=c, max_iter=3000, random_state=seed).fit(xt, train["label"])
            f1 = float(f1_score(valid["label"], model.predict(xv), average="macro", zero_division=0))
            if best is None or f1 > best[0]:
                best = (f1, c, model)
    assert best is not None
    return {"name": "tfidf-logreg", "params": {"analyzer": "char_wb", "ngram_range": [2, 4], "C": best[1]},
            "valid_macro_f1": round(best[0], 4),
            "test": _summary(classification_metrics(test["label"], best[2].predict(xs)))}


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: metrics[k] for k in ("n", "accuracy", "macro_f1", "weighted_f1", "per_class")}


def _split_oos(oos_texts: Sequence[str] | None, seed: int) -> tuple[list[str], list[str]]:
    texts = [t for t in (oos_texts or []) if isinstance(t, str) and t.strip()]
    order = np.random.default_rng(seed).permutation(len(texts))
    half = (len(texts) + 1) // 2
    return [texts[i] for i in order[:half]], [texts[i] for i in order[half:]]


@dataclass
class TrainedTask:
    """A trained task before publication: the classifier, its card, and the test metrics behind it."""

    name: str
    classifier: GatedClassifier
    card: dict[str, Any]
    test_metrics: dict[str, Any]


def train_task(name: str, df: pd.DataFrame, text_col: str, label_col: str, registry: Registry, *,
               promote: bool | None = None, **options: Any) -> ModelVersion:
    """Train task ``name`` on ``df[text_col]`` -> ``df[label_col]`` and publish it as a new version.

    ``options`` are those of :func:`fit_task` (``full``, ``seed``, ``unknown_label``, ``oos_texts``,
    ``baseline``, ...). ``promote``: None makes the version production when the task has none yet;
    True always; False never. Raises TrainingDataError for unusable data.
    """
    return publish_task(fit_task(name, df, text_col, label_col, **options), registry, promote=promote)


def fit_task(name: str, df: pd.DataFrame, text_col: str, label_col: str, *, full: bool = False,
             seed: int = 42, unknown_label: str | None = None, oos_texts: Sequence[str] | None = None,
             baseline: str | None = "tfidf", head: str = "auto", encoder_backend: str = "onnx",
             source: str | None = None, source_sha256: str | None = None,
             min_per_class: int = MIN_PER_CLASS, finetune_params: dict[str, Any] | None = None,
             cache_dir: str | None = None, verbose: bool = False,
             on_step: Callable[[str], None] | None = None) -> TrainedTask:
    """Validate, split 80/10/10 (stratified, seeded), fit, and score on test next to the baselines.

    ``oos_texts``: optional messages that belong to none of the labels; half calibrate the
    out-of-scope gate (with ``unknown_label``), half measure it on test.
    """
    step = on_step or (lambda message: None)
    try:
        check_model_name(name)
    except RegistryError as exc:
        raise TrainingDataError(f"task name: {exc}") from exc
    if baseline not in (None, "tfidf"):
        raise ValueError(f"unknown baseline {baseline!r}; the only baseline is 'tfidf' (or None)")
    started, t0 = time.time(), time.perf_counter()
    frame, dropped = prepare_frame(df, text_col, label_col, source, min_per_class)
    train, valid, test = split_frame(frame, seed)
    valid_oos, test_oos = _split_oos(oos_texts, seed)

    step(f"training {'a fine-tuned transformer' if full else 'a head on frozen embeddings'} "
         f"on {len(train)} examples, {frame['label'].nunique()} labels")
    clf: GatedClassifier
    if full:
        from shopsense.nlp.finetune import FineTunedClassifier

        clf = FineTunedClassifier(unknown_label=unknown_label, seed=seed, verbose=verbose,
                                  **(finetune_params or {}))
    else:
        clf = TextClassifier(encoder_backend=encoder_backend, head=head, unknown_label=unknown_label,
                             seed=seed, cache_dir=cache_dir, verbose=verbose)
    clf.fit(train["text"].tolist(), train["label"].tolist(), valid["text"].tolist(), valid["label"].tolist(),
            valid_oos_texts=valid_oos or None)

    step("evaluating on the test split")
    test_preds = clf.predict_with_confidence(test["text"].tolist())
    test_metrics = classification_metrics(test["label"], [p.label for p in test_preds])
    raw_pred = [max(p.scores, key=p.scores.__getitem__) for p in test_preds]
    metrics: dict[str, Any] = {"test": test_metrics,
                               "test_without_gate": _summary(classification_metrics(test["label"], raw_pred))}
    baselines = []
    if baseline == "tfidf":
        step("training the TF-IDF baseline")
        baselines.append(tfidf_baseline(train, valid, test, seed))
    if full:
        step("training the frozen-head model for comparison")
        frozen = TextClassifier(encoder_backend=encoder_backend, head="logreg", seed=seed,
                                cache_dir=cache_dir)
        frozen.fit(train["text"].tolist(), train["label"].tolist(), valid["text"].tolist(),
                   valid["label"].tolist())
        frozen_pred = frozen.predict(test["text"].tolist())
        baselines.append({"name": "frozen-head-logreg", "params": frozen.chosen_,
                          "test": _summary(classification_metrics(test["label"], frozen_pred))})

    oos_card = None
    if unknown_label:
        gate = clf.gate_.to_dict() if clf.gate_ is not None else {}
        oos_card = {"unknown_label": unknown_label, **gate,
                    "test_in_scope_rejected": round(float(np.mean([not p.in_scope for p in test_preds])), 4)}
        if test_oos:
            oos_pred = clf.predict(test_oos)
            oos_card["test_oos"] = len(test_oos)
            oos_card["test_oos_rejected"] = round(float(np.mean([p == unknown_label for p in oos_pred])), 4)

    per_class = {label: {part: int((p["label"] == label).sum()) for part, p in
                         (("train", train), ("valid", valid), ("test", test))}
                 for label in sorted(frame["label"].unique())}
    content_hash = content_sha256(frame["text"].tolist(), frame["label"].tolist())
    params = {k: v for k, v in clf.get_params().items() if k not in ("cache_dir", "verbose")}
    card: dict[str, Any] = {
        "kind": TASK_KIND, "task": name, "model_kind": "fine-tuned" if full else "frozen-head",
        "labels": clf.labels, "unknown_label": unknown_label,
        "data": {"source": source, "sha256": source_sha256 or content_hash, "content_sha256": content_hash,
                 "text_col": text_col, "label_col": label_col, "rows": int(len(df)),
                 "rows_used": int(len(frame)), "dropped": dropped, "pii_masked": True},
        "split": {"method": "stratified", "fractions": list(SPLIT), "seed": seed,
                  "sizes": {"train": len(train), "valid": len(valid), "test": len(test)},
                  "per_class": per_class, "oos": {"valid": len(valid_oos), "test": len(test_oos)}},
        "params": params, "chosen": _chosen(clf), "encoder": _encoder_info(clf, encoder_backend),
        "metrics": metrics, "baselines": baselines, "out_of_scope": oos_card,
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "train_seconds": round(time.perf_counter() - t0, 1), "shopsense_version": shopsense.__version__,
    }
    return TrainedTask(name=name, classifier=clf, card=card, test_metrics=test_metrics)


def publish_task(trained: TrainedTask, registry: Registry, promote: bool | None = None) -> ModelVersion:
    """Write the model, card, MODEL_CARD.md and confusion PNG as one atomic registry version."""
    with registry.staging(trained.name) as stage:
        trained.classifier.save(stage.path)
        confusion_png(trained.test_metrics, stage.path / "confusion_matrix.png",
                      f"{trained.name}: confusion matrix (test)")
        (stage.path / "MODEL_CARD.md").write_text(model_card_markdown(trained.card), encoding="utf-8")
        stage.card = trained.card
    version = stage.version
    assert version is not None
    if promote or (promote is None and registry.production_version(trained.name) is None):
        registry.promote(trained.name, version.version)
    return version


def _chosen(clf: GatedClassifier) -> dict[str, Any]:
    if isinstance(clf, TextClassifier):
        return {**clf.chosen_, "candidates": clf.selection_}
    return {"steps": clf.steps_, "best_valid_macro_f1": clf.best_valid_macro_f1_, "history": clf.history_,
            "onnx_export_max_abs_diff": clf.export_max_abs_diff_}


def _encoder_info(clf: GatedClassifier, backend: str) -> dict[str, Any]:
    if isinstance(clf, TextClassifier):
        return {"backend": backend, "model_id": clf.encoder_model_id_}
    return {"backend": "fine-tuned-onnx", "base_model": clf.base_model_id_}
