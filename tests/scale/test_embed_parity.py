"""Text embeddings on Spark (``mapInPandas``, one encoder per worker) are the single-node encoder's vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from shopsense.cli import app
from shopsense.core.loaders import load_store_dir_strict
from shopsense.recommend.dataset import item_texts
from shopsense.recommend.text_profile import review_texts
from shopsense.scale.embed import embed_frame
from shopsense.scale.load import read_store_dir
from shopsense.text.encoder import get_encoder


def test_item_and_review_vectors_match_the_single_node_encoder(spark, bench_stores: Path) -> None:
    folder = bench_stores / "gift-cards"
    store = load_store_dir_strict(folder)
    on_spark = read_store_dir(spark, folder)
    encoder = get_encoder("onnx", threads=1)
    ids = sorted(store.items["item_id"].astype(str))[:60]
    items = on_spark.items.filter(on_spark.items.item_id.isin(ids)).repartition(3)  # several workers' blocks
    got = embed_frame(items, "item_id", item_texts).toPandas().set_index("item_id").loc[ids]
    rows = store.items.set_index(store.items["item_id"].astype(str)).loc[ids]
    want = encoder.encode(item_texts(rows))
    assert np.abs(np.stack(got["vector"].to_numpy()) - want).max() < 1e-5
    review_ids = sorted(store.reviews["review_id"].astype(str))[:40]
    reviews = on_spark.reviews.filter(on_spark.reviews.review_id.isin(review_ids))
    got = embed_frame(reviews, "review_id", review_texts).toPandas().set_index("review_id").loc[review_ids]
    want = encoder.encode(review_texts(store.reviews.set_index(store.reviews["review_id"].astype(str))
                                       .loc[review_ids]))
    assert np.abs(np.stack(got["vector"].to_numpy()) - want).max() < 1e-5
    norms = np.linalg.norm(np.stack(got["vector"].to_numpy()), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)


def test_scale_embed_writes_every_item_and_review(spark, bench_stores: Path, tmp_path: Path) -> None:
    import pandas as pd

    folder = bench_stores / "gift-cards"
    store = load_store_dir_strict(folder)
    done = CliRunner().invoke(app, ["scale", "embed", "--data", str(folder), "--out", str(tmp_path / "vec")])
    assert done.exit_code == 0, done.output
    items = pd.read_parquet(tmp_path / "vec" / "items")
    assert set(items["item_id"]) == set(store.items["item_id"].astype(str))
    assert len(items["vector"].iloc[0]) == 384
    assert len(pd.read_parquet(tmp_path / "vec" / "reviews")) == len(store.reviews)
    bad = CliRunner().invoke(app, ["scale", "embed", "--data", str(folder), "--out", str(tmp_path / "x"),
                                   "--encoder", "word2vec"])
    assert bad.exit_code == 2 and "unknown encoder 'word2vec'" in bad.output
