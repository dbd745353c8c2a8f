"""``shopsense evaluate recommend``: every recommender and baseline under one protocol, one table."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shopsense.cli.common import HomeOption, console, err_console, fail
from shopsense.core.atomic import write_text_atomic
from shopsense.core.records import StoreData

evaluate_app = typer.Typer(no_args_is_help=True)


def _load_store(data: Path) -> StoreData:
    """Read and validate a store directory; errors end the command with file:line:column messages.

    Text is cleaned and personal data masked (as on import), but duplicate reviews are kept: the
    protocol counts every interaction of the directory, so figures compare with other tools' on it.
    """
    from shopsense.core.loaders import load_store_dir
    from shopsense.core.preprocess import prepare_store
    from shopsense.core.validation import format_problem

    try:
        result = load_store_dir(data)
    except (FileNotFoundError, NotADirectoryError) as exc:
        fail(f"--data {data}: {exc}")
    errors = result.report.errors
    if errors:
        shown = "\n  ".join(format_problem(p) for p in errors[:10])
        more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        fail(f"{data}: {len(errors)} error(s) in the store directory:\n  {shown}{more}")
    store, _ = prepare_store(result.store, dedupe=False)
    return store


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if value != value else f"{value:.{digits}f}"
    return str(value)


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def _main_table(result: Any) -> Table:
    t = Table(
        title=f"Recommenders, leave-last-out ({result.data['n_scored_users']} users scored, "
        f"{result.data['n_items']} items)"
    )
    for col in (
        "model",
        "NDCG@10 ± se",
        "Recall@10",
        "MRR@10",
        "coverage@10",
        "mean pop rank",
        "fit s",
        "chosen hyperparameters",
    ):
        t.add_column(col, justify="left" if col in ("model", "chosen hyperparameters") else "right")
    for r in result.models:
        if r.error:
            t.add_row(r.name, f"[red]error: {r.error}[/]", "", "", "", "", "", "")
            continue
        m = r.metrics
        t.add_row(
            r.name + (" (baseline)" if r.baseline else ""),
            f"{_fmt(m['ndcg@10'])} ± {_fmt(m['ndcg@10_se'])}",
            f"{_fmt(m['recall@10'])} ± {_fmt(m['recall@10_se'])}",
            _fmt(m["mrr@10"]),
            _fmt(m["coverage@10"], 3),
            _fmt(m["mean_pop_rank"], 1),
            _fmt(r.fit_time_s, 2),
            _params(r.params),
        )
    return t


def _cold_table(rows: list[Any]) -> Table:
    t = Table(title="Cold-start items (seeded 10% of items held out; rank among the cold items)")
    for col in ("model", "NDCG@10 ± se", "Recall@10", "MRR@10", "note"):
        t.add_column(col)
    for r in rows:
        m = r.metrics
        if not m:
            t.add_row(r.name, "unable" if r.note.startswith("unable") else "-", "-", "-", r.note)
        else:
            t.add_row(
                r.name,
                f"{_fmt(m['ndcg@10'])} ± {_fmt(m['ndcg@10_se'])}",
                _fmt(m["recall@10"]),
                _fmt(m["mrr@10"]),
                r.note,
            )
    return t


def _rating_table(rows: list[Any]) -> Table:
    t = Table(title="Rating prediction (seeded 80/20 split)")
    for col in ("model", "RMSE ± se", "fit s", "note"):
        t.add_column(col)
    for r in rows:
        m = r.metrics
        t.add_row(
            r.name, f"{_fmt(m['rmse'])} ± {_fmt(m['rmse_se'])}" if m else "-", _fmt(r.fit_time_s, 2), r.note
        )
    return t


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2, default=str))


@evaluate_app.command("recommend")
def evaluate_recommend(
    data: Annotated[
        Path, typer.Option("--data", help="Store directory (items + interactions and/or reviews).")
    ],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
    models: Annotated[
        str | None, typer.Option("--models", help="Comma-separated model names (default: all).")
    ] = None,
    skip_cold: Annotated[
        bool, typer.Option("--skip-cold", help="Skip the cold-start-items protocol.")
    ] = False,
    skip_rating: Annotated[
        bool, typer.Option("--skip-rating", help="Skip rating prediction (RMSE).")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the cold-start and rating splits.")] = 42,
    no_import: Annotated[
        bool, typer.Option("--no-import", hidden=True, help="Kept for old scripts: the evaluation never "
                                                             "imports into (or replaces) the workspace's store.")
    ] = False,
    home: HomeOption = None,
) -> None:
    """Train every recommender and baseline on a store directory and print one comparison table."""
    from shopsense.recommend.evaluation import all_specs, compare_models

    if not data.is_dir():
        fail(f"--data {data}: not a directory")
    start = time.perf_counter()
    store = _load_store(data)
    specs = all_specs()
    if models:
        wanted = [m.strip() for m in models.split(",") if m.strip()]
        unknown = sorted(set(wanted) - {s.name for s in specs})
        if unknown:
            fail(f"--models: unknown model(s) {unknown}; choose from {[s.name for s in specs]}")
        specs = [s for s in specs if s.name in wanted]
    try:
        result = compare_models(
            store,
            specs,
            seed=seed,
            cold_start=not skip_cold,
            rating=not skip_rating,
            progress=lambda msg: err_console.print(f"[dim]{msg}[/]", highlight=False),
        )
    except ValueError as exc:
        fail(f"{data}: {exc}")
    console.print(_main_table(result))
    if result.cold:
        console.print(_cold_table(result.cold))
    if result.rating:
        console.print(_rating_table(result.rating))
    console.print(f"total time {time.perf_counter() - start:.1f}s", highlight=False)
    if json_out is not None:
        _write_json(json_out, result.to_json())
        console.print(f"wrote {json_out}", highlight=False)
