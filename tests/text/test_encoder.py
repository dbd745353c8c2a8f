"""The encoder backends agree, normalise, handle Chinese, and the cache avoids re-encoding."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from shopsense.text.embedding_cache import EmbeddingCache
from shopsense.text.encoder import (
    CachedEncoder,
    Encoder,
    OnnxMiniLMEncoder,
    RememberingEncoder,
    forget_remembered_vectors,
    get_encoder,
)

REVIEWS = [
    "These strings sound bright and stay in tune for weeks.",
    "The pedal broke after two days, very disappointed.",
    "Great value for a beginner guitar, the action is low and it plays well.",
    "",
    "这个吉他音色很好，物流也很快",
]


def test_onnx_vectors_are_unit_float32() -> None:
    vectors = get_encoder("onnx").encode(REVIEWS)
    assert vectors.shape == (len(REVIEWS), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_order_of_inputs_does_not_change_vectors() -> None:
    encoder = get_encoder("onnx")
    forward = encoder.encode(REVIEWS, batch_size=2)
    backward = encoder.encode(REVIEWS[::-1], batch_size=2)[::-1]
    np.testing.assert_allclose(forward, backward, atol=1e-5)


def test_similar_meaning_is_closer_than_unrelated() -> None:
    a, b, c = get_encoder("onnx").encode(
        ["the strings broke quickly", "strings snapped after a week", "fast delivery to my house"])
    assert a @ b > a @ c


@pytest.mark.parametrize("precision", ["int8", "auto"])
def test_onnx_matches_sentence_transformers(precision: str) -> None:
    pytest.importorskip("sentence_transformers")
    onnx = OnnxMiniLMEncoder(precision=precision).encode(REVIEWS[:3])
    torch_vectors = get_encoder("torch").encode(REVIEWS[:3])
    cosine = (onnx * torch_vectors).sum(axis=1)
    assert cosine.min() >= 0.995


def test_multilingual_puts_chinese_near_its_meaning() -> None:
    encoder = get_encoder("multilingual")
    cancel_zh, cancel_en, weather_en = encoder.encode(
        ["我想取消订单", "cancel my order please", "what's the weather like in Paris"])
    assert encoder.dim == 384
    assert cancel_zh @ cancel_en > cancel_zh @ weather_en


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown encoder backend 'bert'"):
        get_encoder("bert")


class CountingEncoder(Encoder):
    """A real encoder that also counts how many texts reached it."""

    def __init__(self, inner: Encoder) -> None:
        self.inner, self.model_id, self.dim, self.seen = inner, inner.model_id, inner.dim, 0

    def encode(self, texts, batch_size=64, show_progress=False):  # noqa: ANN001, ANN201
        self.seen += len(texts)
        return self.inner.encode(texts, batch_size, show_progress)


def test_cache_persists_and_skips_known_texts(tmp_path) -> None:
    counting = CountingEncoder(get_encoder("onnx"))
    first = CachedEncoder(counting, EmbeddingCache(tmp_path)).encode(REVIEWS + REVIEWS[:2])
    assert counting.seen == len(REVIEWS)  # duplicates inside one call are encoded once
    reopened = CachedEncoder(counting, EmbeddingCache(tmp_path))
    again = reopened.encode(REVIEWS[::-1] + ["a brand new sentence"])
    assert counting.seen == len(REVIEWS) + 1
    np.testing.assert_allclose(again[: len(REVIEWS)], first[: len(REVIEWS)][::-1], atol=1e-6)
    assert len(reopened.cache) == len(REVIEWS) + 1


def test_cache_stores_no_text(tmp_path) -> None:
    CachedEncoder(get_encoder("onnx"), EmbeddingCache(tmp_path)).encode(["my email is jane@example.com"])
    assert b"jane@example.com" not in (tmp_path / "embeddings.sqlite").read_bytes()


def test_one_text_calls_are_remembered_and_many_text_calls_pass_through() -> None:
    counting = CountingEncoder(get_encoder("onnx"))
    remembering = RememberingEncoder(counting, size=2)
    first = remembering.encode([REVIEWS[0]])
    again = remembering.encode([REVIEWS[0]])  # intent, sentiment, FAQ and search read one message once
    assert counting.seen == 1 and remembering.hits_ == 1
    np.testing.assert_array_equal(first, again)
    again[0, 0] = 99.0  # a caller that writes into its answer does not change what is remembered
    assert remembering.encode([REVIEWS[0]])[0, 0] == first[0, 0]
    remembering.encode(REVIEWS[:3])  # a batch (training, indexing) neither reads nor fills the memory
    assert counting.seen == 4 and len(remembering) == 1
    remembering.encode([REVIEWS[1]])
    remembering.encode([REVIEWS[2]])  # the least recently used goes first
    assert len(remembering) == 2
    remembering.encode([REVIEWS[0]])
    assert counting.seen == 7


def test_forgetting_empties_every_loaded_encoder_s_memory() -> None:
    encoder = get_encoder("onnx")
    assert isinstance(encoder, RememberingEncoder)
    encoder.encode(["my email is jane@example.com"])
    assert len(encoder) >= 1
    forget_remembered_vectors()  # what an erasure does
    assert len(encoder) == 0


def _open_and_write(directory: str, start, results) -> None:  # noqa: ANN001 - multiprocessing primitives
    start.wait()
    try:
        cache = EmbeddingCache(Path(directory))
        cache.put_many("m", ["a", "b"], np.zeros((2, 3), dtype=np.float32))
        results.put("ok")
    except Exception as exc:  # reported to the test, which names it
        results.put(repr(exc))


def test_processes_opening_a_new_cache_at_once_all_succeed(tmp_path) -> None:
    """Server workers (or test workers) open one new cache together: SQLite refuses all but one of them the
    switch to WAL at once ("database is locked", no busy wait); every one of them must still open it."""
    ctx = multiprocessing.get_context("spawn")
    answers = []
    for trial in range(6):  # without the retry, about two trials in three had a process fail
        start, results = ctx.Barrier(6), ctx.Queue()
        workers = [ctx.Process(target=_open_and_write, args=(str(tmp_path / str(trial)), start, results))
                   for _ in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        answers += [results.get(timeout=10) for _ in workers]
    assert answers == ["ok"] * 36, answers
    assert len(EmbeddingCache(tmp_path / "0")) == 2
