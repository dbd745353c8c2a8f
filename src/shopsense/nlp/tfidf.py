"""A TF-IDF text classifier: word and character n-grams, logistic regression, no encoder at all.

It is the baseline every trained task is measured against and a candidate it may publish (see
:mod:`shopsense.nlp.selection`). Word n-grams carry English; character n-grams (1-4 within
whitespace-separated chunks) carry Chinese, which has no spaces between words, and spelling variants.
The regularisation ``C`` is chosen on validation macro-F1.

Stored as plain JSON (the vocabularies) and arrays (idf weights, coefficients) — no pickle — and run at
prediction time through scikit-learn's vectorizers rebuilt from the stored vocabulary. It has no
embeddings, hence no centroid similarity and no out-of-scope gate: with ``unknown_label`` set, the task
trainer does not publish it (see :func:`shopsense.nlp.selection.select`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shopsense.core.atomic import dumps
from shopsense.nlp.classifier import (
    ARRAYS_FILE,
    CONFIG_FILE,
    FORMAT_VERSION,
    GatedClassifier,
    _macro_f1,
    _softmax_layers_from_logreg,
    clean_texts,
    run_layers,
)

KIND = "tfidf"
_WORD_PATTERN = r"(?u)\b\w+\b"  # one-letter words kept: "a 5 star" and single Han characters count


class TfidfClassifier(GatedClassifier):
    """Word (``word_ngrams``) + character (``char_ngrams``) TF-IDF features and logistic regression.

    ``max_features`` caps each vocabulary (the most frequent n-grams); n-grams seen in a single training
    text are dropped once there are 1,000 texts or more. ``c_grid``: the values of ``C`` tried.
    """

    unknown_label = None
    gate_ = None

    def __init__(self, word_ngrams: tuple[int, int] = (1, 2), char_ngrams: tuple[int, int] = (1, 4),
                 max_features: int = 100_000, c_grid: Sequence[float] = (1.0, 10.0, 100.0),
                 mask_pii: bool = True, seed: int = 42) -> None:
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.max_features = max_features
        self.c_grid = c_grid
        self.mask_pii = mask_pii
        self.seed = seed

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"word_ngrams": list(self.word_ngrams), "char_ngrams": list(self.char_ngrams),
                "max_features": self.max_features, "c_grid": list(self.c_grid), "mask_pii": self.mask_pii,
                "seed": self.seed}

    def _vectorizer_params(self, min_df: int) -> list[dict[str, Any]]:
        common = {"sublinear_tf": True, "lowercase": True, "min_df": min_df, "dtype": np.float32}
        return [{**common, "analyzer": "word", "ngram_range": tuple(self.word_ngrams),
                 "token_pattern": _WORD_PATTERN},
                {**common, "analyzer": "char_wb", "ngram_range": tuple(self.char_ngrams)}]

    def _features(self, texts: list[str]) -> Any:
        from scipy.sparse import hstack

        return hstack([v.transform(texts) for v in self.vectorizers_], format="csr")

    def _forward(self, texts: list[str]) -> tuple[np.ndarray, None]:
        return run_layers(self.layers_, self._features(texts)), None

    def fit(self, texts: Sequence[str], labels: Sequence[Any], valid_texts: Sequence[str],
            valid_labels: Sequence[Any], valid_oos_texts: Sequence[str] | None = None) -> TfidfClassifier:
        """Fit the vocabularies on ``texts``, then one model per ``C``; keep the best on validation."""
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        started = time.perf_counter()
        x_text, v_text = clean_texts(texts, self.mask_pii), clean_texts(valid_texts, self.mask_pii)
        y = np.asarray([str(v) for v in labels], dtype=object)
        vy = np.asarray([str(v) for v in valid_labels], dtype=object)
        self.classes_ = sorted(set(y.tolist()))
        min_df = 2 if len(x_text) >= 1000 else 1
        self.vectorizers_ = [TfidfVectorizer(**p, max_features=self.max_features)
                             for p in self._vectorizer_params(min_df)]
        xt = hstack([v.fit_transform(x_text) for v in self.vectorizers_], format="csr")
        xv = self._features(v_text)
        self.selection_: list[dict[str, Any]] = []
        best: tuple[float, int] | None = None
        with threadpool_limits(limits=1):
            for rank, c in enumerate(self.c_grid):
                model = LogisticRegression(C=float(c), max_iter=3000, random_state=self.seed).fit(xt, y)
                layers = _softmax_layers_from_logreg(model)
                f1 = _macro_f1(vy, np.asarray(self.classes_)[run_layers(layers, xv).argmax(axis=1)])
                self.selection_.append({"C": float(c), "valid_macro_f1": round(f1, 4)})
                if best is None or round(f1, 4) > best[0]:
                    best, self.layers_ = (round(f1, 4), rank), layers
        assert best is not None
        self.chosen_ = self.selection_[best[1]]
        self.min_df_ = min_df
        self.fit_seconds_ = round(time.perf_counter() - started, 2)
        return self

    @property
    def n_features(self) -> int:
        return int(self.layers_[0][0].shape[0])

    # ---- persistence ---------------------------------------------------------------------------
    def save(self, directory: Path | str) -> None:
        """``classifier.json`` (parameters, classes, vocabularies) and ``head.npz`` (idf, coefficients)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (w, b), = self.layers_
        arrays = {"W0": w, "b0": b}
        vocabularies = []
        for i, vectorizer in enumerate(self.vectorizers_):
            arrays[f"idf{i}"] = vectorizer.idf_.astype(np.float32)
            vocabularies.append({term: int(j) for term, j in vectorizer.vocabulary_.items()})
        with open(directory / ARRAYS_FILE, "wb") as fh:
            np.savez(fh, **arrays)
        config = {"kind": KIND, "format": FORMAT_VERSION, "params": self.get_params(), "classes": self.classes_,
                  "chosen": self.chosen_, "selection": self.selection_, "min_df": self.min_df_,
                  "vocabularies": vocabularies}
        (directory / CONFIG_FILE).write_text(dumps(config), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path | str) -> TfidfClassifier:
        from sklearn.feature_extraction.text import TfidfVectorizer

        directory = Path(directory)
        config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
        if config.get("kind") != KIND:
            raise ValueError(f"{directory} holds a {config.get('kind')!r} model, not a TF-IDF one")
        params = config["params"]
        model = cls(**{**params, "word_ngrams": tuple(params["word_ngrams"]),
                       "char_ngrams": tuple(params["char_ngrams"]), "c_grid": tuple(params["c_grid"])})
        model.classes_ = list(config["classes"])
        model.chosen_, model.selection_, model.min_df_ = config["chosen"], config["selection"], config["min_df"]
        with np.load(directory / ARRAYS_FILE, allow_pickle=False) as arrays:
            model.layers_ = [(arrays["W0"], arrays["b0"])]
            model.vectorizers_ = []
            for i, (vocabulary, vparams) in enumerate(zip(config["vocabularies"],
                                                          model._vectorizer_params(model.min_df_), strict=True)):
                vectorizer = TfidfVectorizer(**vparams, vocabulary=vocabulary)
                vectorizer.idf_ = arrays[f"idf{i}"]
                model.vectorizers_.append(vectorizer)
        return model
