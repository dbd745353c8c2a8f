"""Text embeddings of items and reviews on Spark: the single-node ONNX encoder inside ``mapInPandas``.

Each Python worker loads the encoder once (:func:`_worker_encoder` keeps it for the worker's life; Spark
reuses workers across tasks) and encodes its partition in batches, so a cluster encodes in parallel with one
encoder per executor core and the vectors are the single-node vectors (the same texts, the same code). The
texts are the single-node ones: ``item_texts`` (what :meth:`InteractionDataset.item_text` gives) for items,
``review_texts`` for reviews.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd

from shopsense.recommend.dataset import item_texts
from shopsense.recommend.text_profile import review_texts
from shopsense.text.encoder import BACKENDS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from shopsense.scale.load import SparkStore

_ENCODERS: dict[str, Any] = {}  # per Python worker process: loading a model costs seconds


def _worker_encoder(backend: str) -> Any:
    if backend not in _ENCODERS:
        from shopsense.text.encoder import get_encoder

        _ENCODERS[backend] = get_encoder(backend, threads=1)  # one core per Spark task
    return _ENCODERS[backend]


def _embedder(id_col: str, texts_of: Any, backend: str, batch_size: int):
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        encoder = _worker_encoder(backend)
        for pdf in batches:
            if len(pdf) == 0:
                continue
            vectors = encoder.encode(texts_of(pdf), batch_size=batch_size)
            yield pd.DataFrame({id_col: pdf[id_col].astype(str).to_numpy(), "vector": list(vectors)})

    return run


def embed_frame(frame: DataFrame, id_col: str, texts_of: Any, backend: str = "onnx",
                batch_size: int = 64) -> DataFrame:
    """``id_col, vector`` (array<float>, unit length) for every row of ``frame``; ``texts_of`` maps a pandas
    block of rows to its texts."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown encoder backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    return frame.mapInPandas(_embedder(id_col, texts_of, backend, batch_size),
                             f"{id_col} string, vector array<float>")


def embed_items(store: SparkStore, backend: str = "onnx") -> DataFrame:
    """``item_id, vector`` of every catalog item (title, category, brand and description)."""
    return embed_frame(store.items, "item_id", item_texts, backend)


def embed_reviews(store: SparkStore, backend: str = "onnx") -> DataFrame:
    """``review_id, vector`` of every review (title and text)."""
    return embed_frame(store.reviews, "review_id", review_texts, backend)
