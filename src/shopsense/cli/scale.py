"""``shopsense scale evaluate | train | score | embed``: the recommender pipeline as Spark jobs (``shopsense.scale``).

Each command prints where it runs first (Spark version, master, application id, UI); Spark's own progress
bars show on the terminal. ``--master`` is ignored under ``spark-submit``, which has made the session already.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from shopsense.cli.common import HomeOption, console, err_console, fail, settings_for

app = typer.Typer(no_args_is_help=True)
MasterOption = Annotated[str, typer.Option("--master", help="Spark master: local[2], yarn, k8s://..., spark://...")]
ModelsOption = Annotated[str, typer.Option("--models", help="Comma-separated: popular, itemknn, ease, als.")]
DataOption = Annotated[Path | None, typer.Option("--data", help="Store directory (csv / jsonl / parquet).")]
TableOption = Annotated[str | None, typer.Option("--table", help="Store database URL (default: the workspace's).")]
ModelOption = Annotated[str, typer.Option("--model", help="popular, itemknn, ease or als.")]
ParamsOption = Annotated[str | None, typer.Option("--params", help="Hyperparameters as a JSON object.")]


def _spark(master: str) -> Any:
    from shopsense.scale.session import SparkUnavailable, spark_session, where

    try:
        spark = spark_session(master, "shopsense-scale")
    except SparkUnavailable as exc:
        fail(str(exc))
    console.print(f"running on {where(spark)}", highlight=False)
    return spark


def _read(spark: Any, data: Path | None, table: str | None) -> Any:
    from shopsense.core.loaders import StoreDataError
    from shopsense.core.validation import format_problem
    from shopsense.scale.load import read_store_db, read_store_dir

    if (data is None) == (table is None):
        fail("give one of --data DIR (a store directory) or --table URL (a store database)")
    if table is not None:
        return read_store_db(spark, table)
    try:
        return read_store_dir(spark, data)
    except (FileNotFoundError, NotADirectoryError) as exc:
        fail(f"--data {data}: {exc}")
    except StoreDataError as exc:
        errors = exc.report.errors
        shown = "\n  ".join(format_problem(p) for p in errors[:10])
        more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        fail(f"{data}: {len(errors)} error(s) in the store directory:\n  {shown}{more}")


@app.command("evaluate")
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="Store directory (items + interactions and/or reviews).")],
    master: MasterOption = "local[2]",
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
    models: ModelsOption = "popular,itemknn,ease,als",
    max_configs: Annotated[int | None, typer.Option("--max-configs", min=1,
                                                    help="Try only the first N points of each grid.")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 42,
) -> None:
    """The main protocol of ``shopsense evaluate recommend`` on Spark: same table, same JSON keys."""
    from shopsense.cli.recommend import _main_table, _write_json
    from shopsense.recommend.evaluation import default_specs
    from shopsense.scale.evaluate import compare_on_spark

    start = time.perf_counter()
    wanted = [m.strip() for m in models.split(",") if m.strip()]
    spark = _spark(master)
    store = _read(spark, data, None)
    grids = {s.name: s.grid[:max_configs] for s in default_specs()} if max_configs else None
    try:
        result = compare_on_spark(store, wanted, seed=seed, grids=grids,
                                  progress=lambda msg: err_console.print(f"[dim]{msg}[/]", highlight=False))
    except ValueError as exc:
        fail(f"{data}: {exc}")
    console.print(_main_table(result))
    console.print(f"total time {time.perf_counter() - start:.1f}s", highlight=False)
    if json_out is not None:
        _write_json(json_out, result.to_json())
        console.print(f"wrote {json_out}", highlight=False)


def _params(text: str | None) -> dict[str, Any] | None:
    import json

    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"--params: not JSON: {exc}")
    if not isinstance(value, dict):
        fail("--params: expected a JSON object, e.g. '{\"k_neighbors\": 100}'")
    return value


@app.command("train")
def train(
    data: DataOption = None,
    table: TableOption = None,
    master: MasterOption = "local[2]",
    model: ModelOption = "itemknn",
    params: ParamsOption = None,
    promote: Annotated[bool | None, typer.Option("--promote/--no-promote",
                                                 help="Default: promote only the first version.")] = None,
    home: HomeOption = None,
) -> None:
    """Fit the recommender on Spark and publish it into the workspace's registry (``serve`` picks it up)."""
    from shopsense.scale.models import SPARK_MODELS
    from shopsense.scale.train import fit_for_serving

    if model not in SPARK_MODELS:
        fail(f"--model: no Spark job for {model!r}; choose from {', '.join(SPARK_MODELS)}")
    settings = settings_for(home)
    chosen = _params(params)
    spark = _spark(master)
    store = _read(spark, data, table if table or data else settings.db_url)
    start = time.perf_counter()
    fitted, _ = fit_for_serving(store, model, chosen)
    fitted.fit_time_ = time.perf_counter() - start
    _publish(settings, fitted, spark, promote, f"{model}, fitted on Spark in {fitted.fit_time_:.1f}s")


def _publish(settings: Any, fitted: Any, spark: Any, promote: bool | None, what: str) -> None:
    """Publish ``fitted`` as a new recommender version (promoted when it is the first, or when asked)."""
    from shopsense.recommend.popular import MostPopular
    from shopsense.registry.registry import Registry
    from shopsense.serving.training import RECOMMENDER, publish_recommender

    popular = MostPopular().fit(fitted.dataset_)
    card = {"mode": "full", "why": "shopsense scale", "trained_on": "spark", "spark_master":
            spark.sparkContext.master, "n_interactions": int(len(fitted.dataset_.interactions)),
            "events_until": None, "n_events_used": 0}
    version = publish_recommender(settings, fitted, popular, card)
    registry = Registry(settings.artifacts_dir)
    console.print(f"published {RECOMMENDER} {version.version} ({what})", highlight=False)
    if promote or (promote is None and registry.production_version(RECOMMENDER) in (None, version.version)):
        registry.promote(RECOMMENDER, version.version)
        console.print(f"promoted {version.version} to production", highlight=False)


@app.command("score")
def score(
    out: Annotated[Path, typer.Option("--out", help="Directory for the parquet output.")],
    data: DataOption = None,
    table: TableOption = None,
    master: MasterOption = "local[2]",
    model: ModelOption = "itemknn",
    params: ParamsOption = None,
    k: Annotated[int, typer.Option("--k", min=1, max=1000, help="Items per user.")] = 10,
    publish: Annotated[bool, typer.Option("--publish", help="Also publish the lists into the workspace's "
                                          "registry: `serve` answers known users from them.")] = False,
    promote: Annotated[bool | None, typer.Option("--promote/--no-promote",
                                                 help="With --publish. Default: promote only the first version.")
                       ] = None,
    home: HomeOption = None,
) -> None:
    """Fit on Spark and write every user's top-K unseen items (``user_id, rank, item_id, score``) as parquet."""
    import pandas as pd

    from shopsense.recommend.precomputed import PrecomputedTopK
    from shopsense.scale.models import SPARK_MODELS
    from shopsense.scale.train import fit_for_serving, write_top_k

    if model not in SPARK_MODELS:
        fail(f"--model: no Spark job for {model!r}; choose from {', '.join(SPARK_MODELS)}")
    chosen = _params(params)
    settings = settings_for(home, create=publish) if publish or (data is None and table is None) else None
    spark = _spark(master)
    store = _read(spark, data, table if table or data else settings.db_url)
    start = time.perf_counter()
    fitted, train_data = fit_for_serving(store, model, chosen)
    rows = write_top_k(fitted, train_data, out, k=k)
    console.print(f"wrote {rows:,} recommendations to {out} in {time.perf_counter() - start:.1f}s",
                  highlight=False)
    if publish:
        served = PrecomputedTopK.from_table(fitted, pd.read_parquet(out))
        _publish(settings, served, spark, promote, f"precomputed top-{k} of {model} for "
                 f"{int((served.table_.getnnz(axis=1) > 0).sum()):,} users")


@app.command("embed")
def embed(
    out: Annotated[Path, typer.Option("--out", help="Directory for the parquet output (items/, reviews/).")],
    data: DataOption = None,
    table: TableOption = None,
    master: MasterOption = "local[2]",
    encoder: Annotated[str, typer.Option("--encoder", help="onnx (MiniLM) or multilingual (e5).")] = "onnx",
    home: HomeOption = None,
) -> None:
    """Text embeddings of every item and review on Spark (one encoder per executor core), as parquet."""
    from shopsense.scale.embed import embed_items, embed_reviews
    from shopsense.text.encoder import BACKENDS

    if encoder not in BACKENDS:
        fail(f"--encoder: unknown encoder {encoder!r}; choose one of: {', '.join(BACKENDS)}")
    settings = settings_for(home, create=False) if data is None and table is None else None
    spark = _spark(master)
    store = _read(spark, data, table if table or data else settings.db_url)
    for name, frame in (("items", embed_items(store, encoder)), ("reviews", embed_reviews(store, encoder))):
        frame.write.mode("overwrite").parquet(str(out / name))
        n = spark.read.parquet(str(out / name)).count()
        console.print(f"wrote {n:,} {name} vectors to {out / name}", highlight=False)
