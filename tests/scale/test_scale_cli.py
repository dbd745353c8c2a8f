"""``shopsense scale evaluate | train | score`` end to end in local mode (the session fixture's Spark)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from shopsense.cli import app
from shopsense.core.loaders import load_store_dir, load_store_dir_strict
from shopsense.core.validation import format_problem
from shopsense.recommend.dataset import InteractionDataset
from shopsense.recommend.itemknn import ItemKNN
from shopsense.registry.registry import Registry
from shopsense.scale.train import DEFAULT_PARAMS

BROKEN = Path(__file__).resolve().parents[1] / "data" / "broken"
runner = CliRunner()


def test_scale_evaluate_gives_the_table_and_json_of_evaluate_recommend(spark, bench_stores: Path,
                                                                      tmp_path: Path) -> None:
    folder = bench_stores / "gift-cards"
    ours, theirs = tmp_path / "spark.json", tmp_path / "single.json"
    done = runner.invoke(app, ["scale", "evaluate", "--data", str(folder), "--master", "local[2]", "--models",
                               "popular,itemknn,ease", "--max-configs", "2", "--json", str(ours)])
    assert done.exit_code == 0, done.output
    assert "running on Spark" in done.output and "local[2]" in done.output and "NDCG@10" in done.output
    ref = runner.invoke(app, ["evaluate", "recommend", "--data", str(folder), "--models", "popular,itemknn,ease",
                              "--skip-cold", "--skip-rating", "--json", str(theirs), "--home", str(tmp_path / "h")])
    assert ref.exit_code == 0, ref.output
    a, b = json.loads(ours.read_text()), json.loads(theirs.read_text())
    assert set(a) == set(b) == {"popular", "itemknn", "ease", "_meta"}
    for model in ("popular", "itemknn", "ease"):
        assert set(a[model]) == set(b[model]) and a[model]["ndcg@10"] > 0.05
    assert a["_meta"]["data"] == b["_meta"]["data"] and a["_meta"]["protocol"] == b["_meta"]["protocol"]


def test_the_spark_reader_reports_what_the_single_node_loader_reports(spark) -> None:
    from shopsense.core.loaders import StoreDataError
    from shopsense.scale.load import read_store_dir

    want = {format_problem(p) for p in load_store_dir(BROKEN).report.errors
            if p.table in ("items", "interactions", "reviews") and p.reason != "unknown item"}
    try:
        read_store_dir(spark, BROKEN)
    except StoreDataError as exc:
        got = {format_problem(p) for p in exc.report.errors if p.reason != "unknown item"}
    else:
        raise AssertionError("the broken store was accepted")
    assert want and got == want
    done = runner.invoke(app, ["scale", "evaluate", "--data", str(BROKEN)])
    assert done.exit_code == 2 and "error(s) in the store directory" in done.output
    assert "items.csv:" in done.output  # file:line:column


def test_scale_train_publishes_what_serve_loads_and_score_writes_parquet(spark, bench_stores: Path,
                                                                        tmp_path: Path) -> None:
    folder, home = bench_stores / "gift-cards", tmp_path / "home"
    done = runner.invoke(app, ["scale", "train", "--data", str(folder), "--model", "itemknn", "--home", str(home)])
    assert done.exit_code == 0, done.output
    assert "promoted" in done.output
    registry = Registry(home / "artifacts")
    version = registry.get("recommender", "production")
    assert version.card["trained_on"] == "spark" and version.card["algorithm"] == "itemknn"
    served = ItemKNN.load(version.path / "model")
    store = load_store_dir_strict(folder)
    single = ItemKNN(**DEFAULT_PARAMS["itemknn"]).fit(InteractionDataset.from_store(store))
    for user in np.random.default_rng(2).choice(single.dataset_.user_ids, 20, replace=False):
        assert [r.item_id for r in served.recommend(user)] == [r.item_id for r in single.recommend(user)]
    out = tmp_path / "top"
    done = runner.invoke(app, ["scale", "score", "--data", str(folder), "--model", "itemknn", "--k", "5",
                               "--out", str(out)])
    assert done.exit_code == 0, done.output
    top = pd.read_parquet(out)
    assert set(top.columns) == {"user_id", "rank", "item_id", "score"} and top["user_id"].nunique() == 458
    first = top[top["user_id"] == str(single.dataset_.user_ids[0])].sort_values("rank")
    assert list(first["item_id"]) == [r.item_id for r in single.recommend(str(single.dataset_.user_ids[0]), k=5)]


def test_scale_score_publish_serves_the_precomputed_lists_explained(spark, bench_stores: Path,
                                                                    tmp_path: Path) -> None:
    from shopsense.serving.runtime import ServedModel

    folder, home, out = bench_stores / "gift-cards", tmp_path / "home", tmp_path / "top"
    done = runner.invoke(app, ["scale", "score", "--data", str(folder), "--model", "itemknn", "--k", "8",
                               "--out", str(out), "--publish", "--home", str(home)])
    assert done.exit_code == 0, done.output
    assert "precomputed top-8 of itemknn" in done.output and "promoted" in done.output
    version = Registry(home / "artifacts").get("recommender", "production")
    assert version.card["algorithm"] == "precomputed" and version.card["trained_on"] == "spark"
    served = ServedModel.load(version)
    assert served.model.refit_as == "itemknn"  # what `retrain` fits in its place, events being new to it
    top = pd.read_parquet(out)
    for user in sorted(top["user_id"].unique())[:15]:
        want = top[top["user_id"] == user].sort_values("rank")
        recs, source = served.recommend(user, 5)
        assert source == "personal"
        assert [r.item_id for r in recs] == list(want["item_id"][:5])
        assert [round(r.score, 6) for r in recs] == [round(s, 6) for s in want["score"][:5]]
        assert all(isinstance(r.explanation, str) and r.explanation for r in recs), recs
        assert any(r.explanation.startswith("Because") for r in recs), recs
    first_item = str(top["item_id"].iloc[0])
    assert served.similar(first_item, 3)  # "more like this" comes from the model that scored the table
    cut = served.recommend(str(top["user_id"].iloc[0]), 12)[0]  # past the stored 8: filled from popular
    assert len(cut) == 12 and len({r.item_id for r in cut}) == 12


def test_scale_score_refuses_a_model_without_a_spark_job(spark, bench_stores: Path, tmp_path: Path) -> None:
    done = runner.invoke(app, ["scale", "score", "--data", str(bench_stores / "gift-cards"), "--model", "hybrid",
                               "--out", str(tmp_path / "o")])
    assert done.exit_code == 2 and "no Spark job for 'hybrid'" in done.output
