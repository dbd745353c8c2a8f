"""Text classifiers on sentence embeddings, with out-of-scope detection calibrated on validation data.

:class:`TextClassifier` embeds (PII-masked) text with a frozen encoder from :mod:`shopsense.text.encoder`
and trains a small head on top: logistic regression over a grid of C, and a one-hidden-layer MLP when
there is enough data, chosen on validation macro-F1. Heads are stored as plain arrays (``head.npz``)
plus JSON, never pickles, and run in numpy at prediction time.

Out of scope: with ``unknown_label`` set, a message whose top-class probability *or* whose cosine
similarity to the nearest class centroid falls below a threshold gets ``unknown_label`` instead of a
wrong class (:class:`OutOfScopeGate`). The thresholds are calibrated on validation data.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shopsense.core.atomic import dumps

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CONFIG_FILE = "classifier.json"
ARRAYS_FILE = "head.npz"


@dataclass(frozen=True)
class Prediction:
    """One prediction: the label (``unknown_label`` when out of scope), its confidence, every class score."""

    label: str
    confidence: float
    scores: dict[str, float] = field(repr=False)
    in_scope: bool = True
    similarity: float = 1.0


def clean_texts(texts: Sequence[Any], mask: bool = True) -> list[str]:
    """Texts as strings (missing values become ""), with personal data masked when ``mask``."""
    out = ["" if t is None or (isinstance(t, float) and math.isnan(t)) else str(t) for t in texts]
    if mask:
        from shopsense.core.pii import mask_pii

        out = [mask_pii(t) for t in out]
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class OutOfScopeGate:
    """Thresholds on top-class probability and centroid similarity; below either means out of scope.

    With out-of-scope validation examples, the pair of thresholds is the one that rejects most of them
    while rejecting at most ``max_drop`` (as a fraction of the validation set) of the in-scope examples
    the classifier gets right, so in-scope accuracy stays within that margin of no threshold at all.
    Without them, each threshold is the ``quantile`` (default ``max_drop / 2``, so both together stay
    within ``max_drop``) of the correct in-scope values, taken as an observed value ("lower").
    """

    def __init__(self, max_drop: float = 0.01, quantile: float | None = None, grid: int = 200) -> None:
        self.max_drop = max_drop
        self.quantile = quantile
        self.grid = grid

    def fit(self, conf: np.ndarray, sim: np.ndarray, correct: np.ndarray,
            oos_conf: np.ndarray | None = None, oos_sim: np.ndarray | None = None) -> OutOfScopeGate:
        conf_ok, sim_ok = conf[correct], sim[correct]
        self.report_: dict[str, Any] = {"valid_in_scope": int(len(conf)), "valid_correct": int(correct.sum())}
        if len(conf_ok) == 0:
            self.conf_threshold_, self.sim_threshold_ = 0.0, -1.0
        elif oos_conf is None or oos_sim is None or len(oos_conf) == 0:
            q = self.max_drop / 2 if self.quantile is None else self.quantile
            self.conf_threshold_ = float(np.quantile(conf_ok, q, method="lower"))
            self.sim_threshold_ = float(np.quantile(sim_ok, q, method="lower"))
            self.report_["method"] = f"quantile {q:g} of correct validation predictions"
        else:
            self._search(conf_ok, sim_ok, len(conf), oos_conf, oos_sim)
        rejected = self.reject(conf, sim)
        self.report_["valid_in_scope_rejected"] = float(rejected.mean()) if len(conf) else 0.0
        self.report_["valid_accuracy_with_gate"] = float((correct & ~rejected).mean()) if len(conf) else 0.0
        if oos_conf is not None and len(oos_conf):
            self.report_["valid_oos_rejected"] = float(self.reject(oos_conf, oos_sim).mean())
            self.report_["valid_oos"] = int(len(oos_conf))
        return self

    def _search(self, conf_ok: np.ndarray, sim_ok: np.ndarray, n_valid: int,
                oos_conf: np.ndarray, oos_sim: np.ndarray) -> None:
        budget = int(math.floor(self.max_drop * n_valid + 1e-9))
        # "reject if value < t": useful thresholds are 0 and the correct values themselves.
        qs = np.linspace(0, 1, min(self.grid, len(conf_ok)))
        conf_grid = np.unique(np.concatenate([[0.0], np.quantile(conf_ok, qs)]))
        sim_grid = np.unique(np.concatenate([[-1.0], np.quantile(sim_ok, qs)]))
        best: tuple[float, ...] | None = None
        for tc in conf_grid:
            low_c = conf_ok < tc
            if low_c.sum() > budget:
                break
            kept_sims = np.sort(sim_ok[~low_c])
            lost = low_c.sum() + np.searchsorted(kept_sims, sim_grid, side="left")
            oos_low_c = oos_conf < tc
            oos_kept = np.sort(oos_sim[~oos_low_c])
            caught = oos_low_c.sum() + np.searchsorted(oos_kept, sim_grid, side="left")
            for j in np.flatnonzero(lost <= budget):
                key = (caught[j], -lost[j], -(tc + sim_grid[j]), tc, sim_grid[j])
                if best is None or key[:3] > best[:3]:
                    best = key
        assert best is not None  # (0, -1) always fits the budget
        self.conf_threshold_, self.sim_threshold_ = float(best[3]), float(best[4])
        self.report_["method"] = (f"max out-of-scope rejection with at most {budget} correct in-scope "
                                  f"validation predictions rejected (max_drop={self.max_drop})")

    def reject(self, conf: np.ndarray, sim: np.ndarray) -> np.ndarray:
        return (np.asarray(conf) < self.conf_threshold_) | (np.asarray(sim) < self.sim_threshold_)

    def to_dict(self) -> dict[str, Any]:
        return {"confidence_threshold": self.conf_threshold_, "similarity_threshold": self.sim_threshold_,
                "max_drop": self.max_drop, "quantile": self.quantile, **self.report_}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutOfScopeGate:
        gate = cls(max_drop=data.get("max_drop", 0.01), quantile=data.get("quantile"))
        gate.conf_threshold_ = float(data["confidence_threshold"])
        gate.sim_threshold_ = float(data["similarity_threshold"])
        gate.report_ = {k: v for k, v in data.items()
                        if k not in ("confidence_threshold", "similarity_threshold", "max_drop", "quantile")}
        return gate


class GatedClassifier:
    """What every shopsense text classifier shares: class scores plus embeddings in, predictions out.

    Subclasses implement ``_forward(texts) -> (probabilities, unit embeddings)`` on cleaned text; this
    class turns that into labels, confidences, the out-of-scope decision, and calibrates the gate.
    """

    unknown_label: str | None
    mask_pii: bool
    classes_: list[str]
    centroids_: np.ndarray
    gate_: OutOfScopeGate | None

    def _forward(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    @property
    def labels(self) -> list[str]:
        """Every label a prediction can carry (the classes, then the unknown label if set)."""
        extra = [self.unknown_label] if self.unknown_label and self.unknown_label not in self.classes_ else []
        return [*self.classes_, *extra]

    def predict_proba(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """``(classes, probabilities)``: one row per text, one column per class (no gate applied)."""
        probs, _ = self._forward(clean_texts(texts, self.mask_pii))
        return list(self.classes_), probs

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [p.label for p in self.predict_with_confidence(texts)]

    def predict_with_confidence(self, texts: Sequence[str]) -> list[Prediction]:
        if len(texts) == 0:
            return []
        return self.predict_clean(clean_texts(texts, self.mask_pii))

    def predict_clean(self, texts: list[str]) -> list[Prediction]:
        """Predictions for texts :func:`clean_texts` has already cleaned."""
        return self.predictions(*self._forward(texts))

    def gate_report(self) -> dict[str, Any]:
        """The out-of-scope gate's thresholds and calibration figures (empty without a gate)."""
        return self.gate_.to_dict() if self.gate_ is not None else {}

    def similarity(self, emb: np.ndarray | None) -> np.ndarray | None:
        """Cosine similarity of each embedding to its nearest class centroid (None: no embeddings)."""
        return None if emb is None else (emb @ self.centroids_.T).max(axis=1)

    def predictions(self, probs: np.ndarray, emb: np.ndarray | None) -> list[Prediction]:
        """Predictions from what ``_forward`` returned: labels, confidences and the out-of-scope gate.

        A model without embeddings (``emb`` None, e.g. TF-IDF) reports similarity 1.0 and has no gate.
        """
        best = probs.argmax(axis=1)
        conf = probs[np.arange(len(best)), best]
        found = self.similarity(emb)
        sim = found if found is not None else np.ones(len(best), dtype=np.float32)
        rejected = self.gate_.reject(conf, sim) if self.gate_ is not None else np.zeros(len(best), bool)
        out = []
        for i in range(len(best)):
            label = self.unknown_label if rejected[i] and self.unknown_label else self.classes_[best[i]]
            scores = {c: float(p) for c, p in zip(self.classes_, probs[i], strict=True)}
            out.append(Prediction(label, float(conf[i]), scores, not bool(rejected[i]), float(sim[i])))
        return out

    def _fit_gate(self, train_emb: np.ndarray, train_y: np.ndarray, valid_texts: list[str],
                  valid_y: np.ndarray, oos_texts: list[str] | None, max_drop: float,
                  quantile: float | None) -> None:
        """Centroids from training embeddings; gate thresholds from validation (already cleaned text)."""
        centroids = np.stack([train_emb[train_y == c].mean(axis=0) for c in self.classes_])
        self.centroids_ = (centroids / np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
                           ).astype(np.float32)
        self.gate_ = None
        if not self.unknown_label:
            return
        oos = self._forward(oos_texts) if oos_texts else None
        self._calibrate_gate(*self._forward(valid_texts), valid_y, oos, max_drop, quantile)

    def _calibrate_gate(self, probs: np.ndarray, emb: np.ndarray, valid_y: np.ndarray,
                        oos: tuple[np.ndarray, np.ndarray] | None, max_drop: float,
                        quantile: float | None) -> None:
        """Gate thresholds from validation ``_forward`` outputs (and out-of-scope ones, if any)."""
        correct = np.asarray(self.classes_)[probs.argmax(axis=1)] == valid_y
        oos_conf = oos_sim = None
        if oos is not None:
            oos_conf, oos_sim = oos[0].max(axis=1), self.similarity(oos[1])
        self.gate_ = OutOfScopeGate(max_drop=max_drop, quantile=quantile).fit(
            probs.max(axis=1), self.similarity(emb), correct, oos_conf, oos_sim)


def encode_stats(encoder: Any, texts: int, seconds: float) -> dict[str, Any]:
    """How many texts an encoding step read, how many the encoder actually ran on (the rest came from the
    embedding cache), and its speed in texts per second on those."""
    encoded = getattr(encoder, "encoded_", texts)
    spent = getattr(encoder, "encode_seconds_", seconds)
    return {"model_id": encoder.model_id, "texts": texts, "encoded": encoded, "from_cache": texts - encoded,
            "encode_seconds": round(spent, 2),
            "texts_per_second": round(encoded / spent, 1) if encoded and spent > 0 else None}


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))


def _softmax_layers_from_logreg(model: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # binary: p(class 1) = sigmoid(z) = softmax([0, z])[1]
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    return [(coef.T.astype(np.float32), intercept.astype(np.float32))]


def _softmax_layers_from_mlp(model: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    layers = [(w.astype(np.float32), b.astype(np.float32)) for w, b in zip(model.coefs_, model.intercepts_,
                                                                            strict=True)]
    w, b = layers[-1]
    if w.shape[1] == 1:  # binary MLP has one logistic output; same softmax trick as logistic regression
        layers[-1] = (np.hstack([np.zeros_like(w), w]), np.concatenate([[0.0], b]).astype(np.float32))
    return layers


def run_layers(layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """Forward pass of a ReLU MLP (one layer = a linear model) ending in softmax."""
    for w, b in layers[:-1]:
        x = np.maximum(x @ w + b, 0.0)
    w, b = layers[-1]
    return softmax(x @ w + b)


class TextClassifier(GatedClassifier):
    """A classifier head (logistic regression or MLP) on frozen sentence embeddings.

    ``head="auto"`` tries logistic regression for each C in ``c_grid`` and, with at least
    ``mlp_min_samples`` training texts, an MLP (``mlp_hidden`` units); the best on validation
    macro-F1 wins (ties: lower validation log-loss, then the simpler head).
    """

    def __init__(self, encoder_backend: str = "onnx", head: str = "auto", unknown_label: str | None = None,
                 seed: int = 42, c_grid: Sequence[float] = (0.5, 2.0, 8.0, 32.0, 128.0, 512.0),
                 mlp_hidden: int = 256,
                 mlp_min_samples: int = 1000, oos_max_drop: float = 0.01, oos_quantile: float | None = None,
                 mask_pii: bool = True, batch_size: int = 64, cache_dir: str | Path | None = None,
                 verbose: bool = False) -> None:
        self.encoder_backend = encoder_backend
        self.head = head
        self.unknown_label = unknown_label
        self.seed = seed
        self.c_grid = c_grid
        self.mlp_hidden = mlp_hidden
        self.mlp_min_samples = mlp_min_samples
        self.oos_max_drop = oos_max_drop
        self.oos_quantile = oos_quantile
        self.mask_pii = mask_pii
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.verbose = verbose

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        names = ("encoder_backend", "head", "unknown_label", "seed", "c_grid", "mlp_hidden",
                 "mlp_min_samples", "oos_max_drop", "oos_quantile", "mask_pii", "batch_size", "cache_dir",
                 "verbose")
        params = {n: getattr(self, n) for n in names}
        params["c_grid"] = list(params["c_grid"])
        params["cache_dir"] = str(params["cache_dir"]) if params["cache_dir"] else None
        return params

    def _encoder(self) -> Any:
        from shopsense.text.encoder import get_encoder

        return get_encoder(self.encoder_backend, cache_dir=self.cache_dir)

    def embed(self, texts: list[str], encoder: Any = None) -> np.ndarray:
        """Unit-length embeddings of already-cleaned texts (with ``encoder``, else this model's own)."""
        if not texts:
            return np.zeros((0, self.centroids_.shape[1] if hasattr(self, "centroids_") else 384), np.float32)
        return (encoder or self._encoder()).encode(texts, batch_size=self.batch_size,
                                                   show_progress=self.verbose)

    def _forward(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        emb = self.embed(texts)
        return run_layers(self.layers_, emb), emb

    def fit(self, texts: Sequence[str], labels: Sequence[Any], valid_texts: Sequence[str] | None = None,
            valid_labels: Sequence[Any] | None = None,
            valid_oos_texts: Sequence[str] | None = None) -> TextClassifier:
        """Embed, choose the head on validation data, calibrate the out-of-scope gate. Returns self.

        Without validation data, a stratified 10% of the training data is held out for it.
        """
        if self.head not in ("auto", "logreg", "mlp"):
            raise ValueError(f"head must be auto, logreg or mlp, not {self.head!r}")
        y = np.asarray([str(v) for v in labels], dtype=object)
        x_text = clean_texts(texts, self.mask_pii)
        if valid_texts is None or valid_labels is None:
            from sklearn.model_selection import train_test_split

            x_text, v_text, y, vy = train_test_split(x_text, y, test_size=0.1, random_state=self.seed,
                                                     stratify=y)
        else:
            v_text, vy = clean_texts(valid_texts, self.mask_pii), np.asarray([str(v) for v in valid_labels],
                                                                             dtype=object)
        self.classes_ = sorted(set(y.tolist()))
        if len(self.classes_) < 2:
            raise ValueError(f"need at least two classes to train a classifier, got {self.classes_}")
        encoder = self._encoder()
        self.encoder_model_id_ = encoder.model_id
        started = time.perf_counter()
        train_emb, valid_emb = self.embed(x_text, encoder), self.embed(v_text, encoder)
        self.encode_stats_ = encode_stats(encoder, len(x_text) + len(v_text), time.perf_counter() - started)
        self.layers_, self.chosen_, self.selection_ = self._select_head(train_emb, y, valid_emb, vy)
        self.head_kind_ = self.chosen_["head"]
        oos = clean_texts(valid_oos_texts, self.mask_pii) if valid_oos_texts else None
        self._fit_gate(train_emb, y, v_text, vy, oos, self.oos_max_drop, self.oos_quantile)
        return self

    def _select_head(self, x: np.ndarray, y: np.ndarray, vx: np.ndarray, vy: np.ndarray
                     ) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict[str, Any], list[dict[str, Any]]]:
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import log_loss
        from sklearn.neural_network import MLPClassifier

        candidates: list[tuple[str, dict[str, Any], Any]] = []
        if self.head in ("auto", "logreg"):
            for c in self.c_grid:
                candidates.append(("logreg", {"C": float(c)}, lambda c=c: _softmax_layers_from_logreg(
                    LogisticRegression(C=c, max_iter=3000, random_state=self.seed).fit(x, y))))
        if self.head == "mlp" or (self.head == "auto" and len(x) >= self.mlp_min_samples):
            for alpha in (1e-4, 1e-2):
                candidates.append(("mlp", {"hidden": self.mlp_hidden, "alpha": alpha},
                                   lambda alpha=alpha: _softmax_layers_from_mlp(MLPClassifier(
                                       hidden_layer_sizes=(self.mlp_hidden,), alpha=alpha, max_iter=300,
                                       early_stopping=True, n_iter_no_change=10, random_state=self.seed
                                   ).fit(x, y))))
        from threadpoolctl import threadpool_limits

        results, best, best_key = [], None, None
        for rank, (kind, hyper, build) in enumerate(candidates):
            # One BLAS thread: these matrices are small, and on a busy 2-core machine threaded BLAS
            # spends more time synchronising than computing (measured 20x slower).
            with threadpool_limits(limits=1):
                layers = build()
            probs = run_layers(layers, vx)
            pred = np.asarray(self.classes_)[probs.argmax(axis=1)]
            f1 = _macro_f1(vy, pred)
            loss = float(log_loss(vy, np.clip(probs, 1e-7, 1.0), labels=self.classes_))
            results.append({"head": kind, **hyper, "valid_macro_f1": round(f1, 4),
                            "valid_log_loss": round(loss, 4)})
            key = (round(f1, 4), -loss, -rank)
            if best_key is None or key > best_key:
                best_key, best = key, (layers, results[-1])
            log.debug("head %s %s: valid macro-F1 %.4f, log-loss %.4f", kind, hyper, f1, loss)
        assert best is not None
        return best[0], best[1], results

    # ---- persistence ---------------------------------------------------------------------------
    def save(self, directory: Path | str) -> None:
        """Write ``classifier.json`` and ``head.npz`` (plain arrays; no pickle) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {"centroids": self.centroids_}
        for i, (w, b) in enumerate(self.layers_):
            arrays[f"W{i}"], arrays[f"b{i}"] = w, b
        with open(directory / ARRAYS_FILE, "wb") as fh:
            np.savez(fh, **arrays)
        params = {k: v for k, v in self.get_params().items() if k not in ("cache_dir", "verbose")}
        config = {"kind": "frozen-head", "format": FORMAT_VERSION, "params": params, "classes": self.classes_,
                  "head": self.head_kind_, "layers": len(self.layers_), "chosen": self.chosen_,
                  "selection": self.selection_,
                  "encoder": {"backend": self.encoder_backend, "model_id": self.encoder_model_id_},
                  "gate": self.gate_.to_dict() if self.gate_ is not None else None}
        (directory / CONFIG_FILE).write_text(dumps(config), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path | str, cache_dir: str | Path | None = None) -> TextClassifier:
        directory = Path(directory)
        config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
        if config.get("kind") != "frozen-head":
            raise ValueError(f"{directory} holds a {config.get('kind')!r} model, not a frozen-head one")
        model = cls(**{**config["params"], "cache_dir": cache_dir})
        with np.load(directory / ARRAYS_FILE, allow_pickle=False) as arrays:
            model.layers_ = [(arrays[f"W{i}"], arrays[f"b{i}"]) for i in range(config["layers"])]
            model.centroids_ = arrays["centroids"]
        model.classes_ = list(config["classes"])
        model.head_kind_ = config["head"]
        model.selection_ = config["selection"]
        model.chosen_ = config.get("chosen", {"head": config["head"]})
        model.encoder_model_id_ = config["encoder"]["model_id"]
        model.gate_ = OutOfScopeGate.from_dict(config["gate"]) if config.get("gate") else None
        current = model._encoder().model_id
        if current != model.encoder_model_id_:
            log.warning("%s was trained on encoder %s but %s is loaded now; predictions may shift slightly",
                        directory, model.encoder_model_id_, current)
        return model
