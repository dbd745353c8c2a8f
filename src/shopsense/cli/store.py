"""``shopsense import`` and ``shopsense demo``: fill the workspace's store from a store directory."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn
from rich.table import Table
from sqlalchemy.engine import make_url

from shopsense.cli.common import HomeOption, console, err_console, fail, settings_for
from shopsense.core.loaders import StoreDataError
from shopsense.core.store import ImportSummary, Store, StoreImportError, import_directory
from shopsense.core.validation import format_problem

_MAX_WARNINGS = 20
_MAX_ERRORS = 100


def _out(text: str, markup: bool = True) -> None:
    console.print(text, highlight=False, markup=markup, soft_wrap=True)


def _err(text: str, markup: bool = True) -> None:
    err_console.print(text, highlight=False, markup=markup, soft_wrap=True)


def demo_store_dir() -> Path:
    """The bundled demo store directory (ToyNest), shipped inside the package."""
    return Path(str(resources.files("shopsense") / "data" / "demo_store"))


def _run_import(directory: Path, home: Path | None, skip_invalid: bool = False) -> ImportSummary:
    settings = settings_for(home)
    with Store.from_settings(settings) as store:
        progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                            MofNCompleteColumn(), console=err_console, transient=True)
        tasks: dict[str, TaskID] = {}

        def on_step(message: str) -> None:
            if "step" not in tasks:
                tasks["step"] = progress.add_task(message, total=None)
            progress.update(tasks["step"], description=message)

        def on_rows(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = progress.add_task(f"writing {table}", total=total)
            progress.update(tasks[table], completed=done)

        try:
            with progress:
                summary = import_directory(directory, store, progress=on_rows, on_step=on_step,
                                           skip_invalid=skip_invalid)
        except StoreDataError as exc:
            errors = exc.report.errors
            for problem in errors[:_MAX_ERRORS]:
                _err(format_problem(problem), markup=False)
            if len(errors) > _MAX_ERRORS:
                _err(f"... and {len(errors) - _MAX_ERRORS} more errors")
            fail(f"{directory}: {len(errors)} error(s); nothing was imported "
                 "(fix them, or pass --skip-invalid to import the rows that passed)", code=1)
        except StoreImportError as exc:
            fail(str(exc), code=1)
        counts = {**store.counts(), "shoppers": store.shoppers()}
    _print_summary(summary, counts, settings.db_url)
    return summary


def _print_summary(summary: ImportSummary, counts: dict[str, int], url: str) -> None:
    for line in summary.warnings[:_MAX_WARNINGS]:
        _err(line, markup=False)
    if len(summary.warnings) > _MAX_WARNINGS:
        _err(f"... and {len(summary.warnings) - _MAX_WARNINGS} more warnings")
    table = Table(title="The store", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("rejected", justify="right")
    for name, n in counts.items():
        rejected = summary.rejected.get(name, 0)
        table.add_row(name, f"{n:,}", f"{rejected:,}" if rejected else "")
    console.print(table)
    dup = summary.prep.get("duplicates", {})
    if dup:
        _out(f"duplicate reviews removed: {dup.get('dropped', 0)} "
             f"(exact {dup.get('exact_duplicates', 0)}, near {dup.get('near_duplicates', 0)})")
    if summary.identity:
        shown = " · ".join(summary.identity[f] for f in ("name", "currency", "locale") if f in summary.identity)
        _out(f"store identity (store.json): {escape(shown)}{' (updated)' if summary.identity_changed else ''}")
    pii = {k: v for k, v in summary.prep.get("pii", {}).items() if v}
    masked = ", ".join(f"{k} {v}" for k, v in pii.items()) or "none found"
    _out(f"personal data masked: {masked}")
    if summary.unchanged:
        _out(f"[bold]unchanged[/]: the store already holds this content (hash {summary.content_hash[:12]})")
    else:
        where = escape(make_url(url).render_as_string(hide_password=True))
        _out(f"[bold green]imported[/] into {where} in {summary.seconds:.1f}s "
             f"(import run {summary.run_id}, hash {summary.content_hash[:12]})", markup=True)


def import_command(
    directory: Annotated[Path, typer.Argument(help="Store directory (items, interactions, reviews, ...).")],
    home: HomeOption = None,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Import the rows that passed validation; the rest become warnings.")] = False,
) -> None:
    """Validate a store directory and load it into the workspace's store (idempotent, transactional)."""
    _run_import(directory, home, skip_invalid)


def demo_command(
    home: HomeOption = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Prepare the workspace; do not serve.")] = False,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Import the bundled demo store (ToyNest), train every model, and serve the shop and the API."""
    from shopsense.cli.serving import print_pipeline, run_pipeline, serve_workspace
    from shopsense.core.identity import DEMO_ADMIN_KEY_FILE, workspace_secret
    from shopsense.registry import Registry
    from shopsense.serving.pipeline import TrainOptions
    from shopsense.serving.training import RECOMMENDER

    directory = demo_store_dir()
    if not directory.is_dir():
        fail(f"the bundled demo store is missing ({directory}); reinstall shopsense", code=1)
    summary = _run_import(directory, home)
    settings = settings_for(home)
    if summary.unchanged and Registry(settings.artifacts_dir).production_version(RECOMMENDER) is not None:
        console.print("models: already trained on this store (retrain with `shopsense train`)")
    else:
        print_pipeline(run_pipeline(home, TrainOptions()))
    if no_serve:
        console.print(f"workspace ready in {settings.home}; serve it with `shopsense serve --home {settings.home}`",
                      highlight=False)
        return
    # Demo mode: the header offers the demo shoppers (signed in through the token flow), and the admin
    # surface is on with a key generated once for this workspace unless SHOPSENSE_API_KEY is set.
    key = settings.api_key or workspace_secret(None, settings.home, DEMO_ADMIN_KEY_FILE)
    console.print(f"admin key for /admin and the admin API: [bold]{key}[/]", highlight=False)
    serve_workspace(settings.model_copy(update={"demo": True, "api_key": key}), host, port)


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("demo")(demo_command)
