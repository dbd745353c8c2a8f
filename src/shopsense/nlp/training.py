"""Train a text-classification task end to end and publish it to the registry with its model card.

:func:`train_task` validates the data, splits it 80/10/10 (stratified, seeded), and trains candidates: a
head on frozen embeddings from the encoder the data's language calls for, the TF-IDF (word + character
n-gram) model, their combination, and with ``full=True`` a fine-tuned transformer. The one with the best
validation macro-F1 — never below the TF-IDF baseline, the more robust kind when within noise (see
:mod:`shopsense.nlp.selection`) — is published: model files, ``card.json`` (every candidate's validation
and test figures, the encoder chosen and why), ``MODEL_CARD.md`` and ``confusion_matrix.png`` as one
atomic registry version.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import shopsense
from shopsense.nlp.classifier import GatedClassifier, TextClassifier, _macro_f1, clean_texts
from shopsense.nlp.ensemble import EnsembleClassifier
from shopsense.nlp.reports import classification_metrics, confusion_png, model_card_markdown
from shopsense.nlp.routed import LanguageRoutedClassifier, english_rows
from shopsense.nlp.selection import KINDS, TFIDF_NAME, Candidate, EncoderChoice, choose_encoders, select
from shopsense.nlp.tfidf import TfidfClassifier
from shopsense.registry import ModelVersion, Registry, check_model_name
from shopsense.registry.registry import RegistryError

TASK_KIND = "text-classifier"
MIN_PER_CLASS = 5
SPLIT = (0.8, 0.1, 0.1)
# Fewer English training examples than this and no English head is trained beside the multilingual one.
MIN_ENGLISH_EXAMPLES = 50


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


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: metrics[k] for k in ("n", "accuracy", "macro_f1", "weighted_f1", "per_class")}


def _split_oos(oos_texts: Sequence[str] | None, seed: int) -> tuple[list[str], list[str]]:
    texts = [t for t in (oos_texts or []) if isinstance(t, str) and t.strip()]
    order = np.random.default_rng(seed).permutation(len(texts))
    half = (len(texts) + 1) // 2
    return [texts[i] for i in order[:half]], [texts[i] for i in order[half:]]


@dataclass
class TrainedTask:
    """A trained task before publication: the classifier, its card, the test metrics behind it, and every
    candidate it was chosen from (by name, as the card lists them)."""

    name: str
    classifier: GatedClassifier
    card: dict[str, Any]
    test_metrics: dict[str, Any]
    candidates: dict[str, GatedClassifier] = field(default_factory=dict)


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
             baseline: str | None = "tfidf", head: str = "auto",
             encoder_backend: str | Sequence[str] | None = None, route_english: bool = True,
             candidates: Sequence[str] | None = None,
             source: str | None = None, source_sha256: str | None = None,
             min_per_class: int = MIN_PER_CLASS, finetune_params: dict[str, Any] | None = None,
             cache_dir: str | None = None, verbose: bool = False,
             on_step: Callable[[str], None] | None = None) -> TrainedTask:
    """Validate, split 80/10/10 (stratified, seeded), train the candidates and pick the one to publish.

    Candidates: a head on frozen embeddings for each encoder ``encoder_backend`` names (None: the one the
    data's language calls for, see :func:`~shopsense.nlp.selection.choose_encoders`); with
    ``baseline="tfidf"`` the TF-IDF model and its combination with each head; with ``route_english``, when
    the multilingual head reads data with enough English, a MiniLM head for English messages beside it
    (:mod:`shopsense.nlp.routed`); with ``full`` a fine-tuned transformer. ``baseline=None`` trains the heads
    (and the fine-tuned model) only: the cheap, quick mode. The winner is chosen on validation by
    :func:`~shopsense.nlp.selection.select`; ``candidates`` limits the kinds that may win (the others are
    still trained and listed). ``oos_texts``: optional messages that belong to none of the labels; half
    calibrate the out-of-scope gate (with ``unknown_label``), half measure it on test.
    """
    step = on_step or (lambda message: None)
    try:
        check_model_name(name)
    except RegistryError as exc:
        raise TrainingDataError(f"task name: {exc}") from exc
    if baseline not in (None, "tfidf"):
        raise ValueError(f"unknown baseline {baseline!r}; the only baseline is 'tfidf' (or None)")
    unknown_kinds = sorted(set(candidates or ()) - set(KINDS))
    if unknown_kinds:
        raise ValueError(f"unknown candidate kind(s) {', '.join(unknown_kinds)}; choose from {', '.join(KINDS)}")
    started, t0 = time.time(), time.perf_counter()
    frame, dropped = prepare_frame(df, text_col, label_col, source, min_per_class)
    train, valid, test = split_frame(frame, seed)
    valid_oos, test_oos = _split_oos(oos_texts, seed)
    choice = choose_encoders(encoder_backend, train["text"].tolist(), seed)
    step(f"encoder {', '.join(choice.backends)}: {choice.reason}")
    if choice.warning:
        step(f"warning: {choice.warning}")

    fit_args = (train["text"].tolist(), train["label"].tolist(), valid["text"].tolist(), valid["label"].tolist())
    split = _Split(clean_texts(valid["text"].tolist()), valid["label"].to_numpy(dtype=str),
                   clean_texts(test["text"].tolist()), test["label"].to_numpy(dtype=str))
    labels = frame["label"].nunique()
    found: list[Candidate] = []
    with _embedding_cache(cache_dir) as cache:
        heads: dict[str, TextClassifier] = {}
        for backend in choice.backends:
            step(f"training a head on frozen {backend} embeddings: {len(train)} examples, {labels} labels")
            clf = TextClassifier(encoder_backend=backend, head=head, unknown_label=unknown_label, seed=seed,
                                 cache_dir=cache, verbose=verbose)
            found.append(_candidate(f"frozen-head:{backend}", "frozen-head", split, lambda clf=clf: clf.fit(
                *fit_args, valid_oos_texts=valid_oos or None)))
            heads[backend] = clf
            speed = clf.encode_stats_.get("texts_per_second")
            if speed:
                step(f"{backend}: encoded {clf.encode_stats_['encoded']} texts at {speed:,.0f} texts/s "
                     f"({clf.encode_stats_['from_cache']} from the embedding cache)")
        english = (_english_head(heads, train, valid, valid_oos, head, unknown_label, seed, cache, verbose)
                   if route_english else None)
        if english is not None:
            en_clf, en_args, en_oos = english
            step(f"training a head on frozen onnx embeddings of the {len(en_args[0])} English examples, to read "
                 "English messages without the multilingual encoder")
            found.append(_candidate("routed-head:onnx+multilingual", "routed-head", split, lambda: (
                LanguageRoutedClassifier(en_clf.fit(*en_args, valid_oos_texts=en_oos), heads["multilingual"]))))
        if baseline == "tfidf":
            step("training the TF-IDF model (word + character n-grams)")
            tfidf = TfidfClassifier(seed=seed)
            found.append(_candidate(TFIDF_NAME, "tfidf", split, lambda: tfidf.fit(*fit_args)))
            for backend, clf in heads.items():
                step(f"combining the {backend} head with the TF-IDF model")
                found.append(_candidate(f"ensemble:{backend}", "ensemble", split, lambda clf=clf: EnsembleClassifier(
                    clf, tfidf, unknown_label=unknown_label).fit(fit_args[2], fit_args[3], valid_oos or None)))
        if full:
            from shopsense.nlp.finetune import FineTunedClassifier

            step(f"fine-tuning the transformer: {len(train)} examples, {labels} labels")
            found.append(_candidate("fine-tuned", "fine-tuned", split, lambda: FineTunedClassifier(
                unknown_label=unknown_label, seed=seed, verbose=verbose, **(finetune_params or {})).fit(
                *fit_args, valid_oos_texts=valid_oos or None)))
        winner, selection = select(found, len(valid), unknown_label, candidates)
    for clf in [*heads.values(), *([english[0]] if english else [])]:
        clf.cache_dir = cache_dir  # the temporary cache is gone; predictions use the caller's (or none)
    for line in selection["warnings"]:
        step(f"warning: {line}")
    step(f"publishing {winner.name}: {selection['reason']}")
    clf = winner.classifier

    test_preds = winner.test_predictions
    test_metrics = classification_metrics(test["label"], [p.label for p in test_preds])
    raw_pred = [max(p.scores, key=p.scores.__getitem__) for p in test_preds]
    metrics: dict[str, Any] = {"test": test_metrics,
                               "test_without_gate": _summary(classification_metrics(test["label"], raw_pred))}
    baselines = [{"name": c.name, "params": c.classifier.get_params(), "valid_macro_f1": c.valid_f1,
                  "test": _summary(c.test)} for c in found if c.kind == "tfidf"]

    oos_card = None
    if unknown_label:
        gate = clf.gate_report()
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
        "kind": TASK_KIND, "task": name, "model_kind": winner.kind,
        "labels": clf.labels, "unknown_label": unknown_label,
        "data": {"source": source, "sha256": source_sha256 or content_hash, "content_sha256": content_hash,
                 "text_col": text_col, "label_col": label_col, "rows": int(len(df)),
                 "rows_used": int(len(frame)), "dropped": dropped, "pii_masked": True},
        "split": {"method": "stratified", "fractions": list(SPLIT), "seed": seed,
                  "sizes": {"train": len(train), "valid": len(valid), "test": len(test)},
                  "per_class": per_class, "oos": {"valid": len(valid_oos), "test": len(test_oos)}},
        "params": params, "chosen": _chosen(winner), "encoder": _encoder_info(clf, choice),
        "candidates": [c.entry(c is winner) for c in found], "selection": selection,
        "metrics": metrics, "baselines": baselines, "out_of_scope": oos_card,
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "train_seconds": round(time.perf_counter() - t0, 1), "shopsense_version": shopsense.__version__,
    }
    return TrainedTask(name=name, classifier=clf, card=card, test_metrics=test_metrics,
                       candidates={c.name: c.classifier for c in found})


@dataclass
class _Split:
    """Cleaned validation and test texts with their labels: every candidate is scored on these."""

    valid_texts: list[str]
    valid_y: np.ndarray
    test_texts: list[str]
    test_y: np.ndarray


def _english_head(heads: dict[str, TextClassifier], train: pd.DataFrame, valid: pd.DataFrame,
                  valid_oos: list[str], head: str, unknown_label: str | None, seed: int, cache: str,
                  verbose: bool) -> tuple[TextClassifier, tuple[list[str], ...], list[str] | None] | None:
    """An unfitted MiniLM head, its English data ``(texts, labels, valid texts, valid labels)`` and English
    out-of-scope texts, when the multilingual head was trained on data with enough English to route English
    messages to a head of their own (see :mod:`shopsense.nlp.routed`); else None."""
    if "multilingual" not in heads or "onnx" in heads:
        return None
    en_train = train[english_rows(train["text"].tolist())]
    en_valid = valid[english_rows(valid["text"].tolist())]
    en_valid = en_valid[en_valid["label"].isin(set(en_train["label"]))]
    if len(en_train) < MIN_ENGLISH_EXAMPLES or en_train["label"].nunique() < 2 or not len(en_valid):
        return None
    en_oos = [t for t, is_en in zip(valid_oos, english_rows(valid_oos), strict=True) if is_en]
    clf = TextClassifier(encoder_backend="onnx", head=head, unknown_label=unknown_label, seed=seed,
                         cache_dir=cache, verbose=verbose)
    return clf, (en_train["text"].tolist(), en_train["label"].tolist(), en_valid["text"].tolist(),
                 en_valid["label"].tolist()), en_oos or None


def _candidate(name: str, kind: str, split: _Split, fit: Callable[[], GatedClassifier]) -> Candidate:
    """Fit one candidate (timed) and score it: validation without the gate, test with it."""
    start = time.perf_counter()
    clf = fit()
    seconds = round(time.perf_counter() - start, 1)
    valid_probs, _ = clf._forward(split.valid_texts)
    valid_pred = np.asarray(clf.classes_)[valid_probs.argmax(axis=1)]
    valid = {"n": len(split.valid_y), "macro_f1": round(_macro_f1(split.valid_y, valid_pred), 4),
             "accuracy": round(float((valid_pred == split.valid_y).mean()), 4)}
    predictions = clf.predict_clean(split.test_texts) if split.test_texts else []
    test = classification_metrics(split.test_y, [p.label for p in predictions])
    encoder = None
    if isinstance(clf, TextClassifier | EnsembleClassifier | LanguageRoutedClassifier):
        encode = clf.english if isinstance(clf, LanguageRoutedClassifier) else clf
        encoder = {"backend": clf.encoder_backend, "model_id": clf.encoder_model_id_,
                   "encode": getattr(encode, "encode_stats_", None)}
    return Candidate(name, kind, clf, valid, test, predictions, seconds, encoder)


@contextmanager
def _embedding_cache(cache_dir: str | None) -> Iterator[str]:
    """``cache_dir``, or a temporary one for this training run: every candidate, and the scoring of each
    on validation and test, then reads an embedding computed once."""
    if cache_dir is not None:
        yield cache_dir
        return
    with tempfile.TemporaryDirectory(prefix="shopsense-embed-") as tmp:
        yield tmp


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


def _chosen(winner: Candidate) -> dict[str, Any]:
    """What was chosen inside the published candidate (head, C, weight, steps) and its validation score."""
    clf = winner.classifier
    chosen: dict[str, Any] = {"candidate": winner.name}
    if isinstance(clf, TextClassifier):
        chosen.update({**clf.chosen_, "candidates": clf.selection_})
    elif isinstance(clf, LanguageRoutedClassifier):
        chosen.update(clf.chosen_)
    elif isinstance(clf, TfidfClassifier | EnsembleClassifier):
        chosen.update({**clf.chosen_, "grid": clf.selection_})
    else:
        chosen.update({"steps": clf.steps_, "best_valid_macro_f1": clf.best_valid_macro_f1_,
                       "history": clf.history_, "onnx_export_max_abs_diff": clf.export_max_abs_diff_})
    chosen["valid_macro_f1"] = winner.valid_f1  # what promotion compares versions on
    return chosen


def _encoder_info(clf: GatedClassifier, choice: EncoderChoice) -> dict[str, Any]:
    """The published model's encoder, and which encoder the candidates used and why."""
    if isinstance(clf, TextClassifier | EnsembleClassifier | LanguageRoutedClassifier):
        used = {"backend": clf.encoder_backend, "model_id": clf.encoder_model_id_}
    elif isinstance(clf, TfidfClassifier):
        used = {"backend": None, "model_id": None}
    else:
        used = {"backend": "fine-tuned-onnx", "base_model": clf.base_model_id_}
    return {**used, "choice": choice.to_dict(), "reason": choice.reason}
