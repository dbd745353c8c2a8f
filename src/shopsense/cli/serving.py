"""``shopsense serve``, ``retrain`` and ``report ab``: thin shells over :mod:`shopsense.serving`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shopsense.cli.common import HomeOption, console, err_console, fail, settings_for
from shopsense.core.settings import Settings

if TYPE_CHECKING:
    from shopsense.serving.pipeline import PipelineResult, TrainOptions

report_app = typer.Typer(no_args_is_help=True, help="Reports over the event log.")


def default_workers() -> int:
    """One worker per core but one, at most 4: a request is CPU-bound Python (one core per process), the
    spare core is for the database, the retrain jobs and the OS, and past 4 the memory of N copies of the
    models grows faster than the throughput. On a 2-core machine: 1."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(4, cores - 1))


def serve_workspace(settings: Settings, host: str, port: int, access_log: bool = True, workers: int = 1) -> None:
    """Serve the API and pages of a prepared workspace until interrupted."""
    import uvicorn

    from shopsense.api.app import create_app
    from shopsense.core.store import Store
    from shopsense.registry import Registry
    from shopsense.serving.training import RECOMMENDER

    if Registry(settings.artifacts_dir).production_version(RECOMMENDER) is None:
        with Store.from_settings(settings) as store:
            items = store.counts().get("items", 0)
        step = (f"`shopsense train --home {settings.home}`" if items else
                f"`shopsense import DIR --home {settings.home}` then `shopsense train --home {settings.home}`")
        fail(f"no trained recommender in {settings.home}; run {step} (or `shopsense demo`)", code=1)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    console.print(f"[bold green]serving[/] {settings.home} at http://{shown}:{port}/  "
                  f"(API docs for admins: http://{shown}:{port}/docs; Ctrl+C stops)", highlight=False)
    if not settings.api_key:
        console.print("admin surface off: set SHOPSENSE_API_KEY to use /admin, the admin API and /metrics",
                      highlight=False)
    try:
        ensure_port_free(host, port)  # the servers below would log it and exit without saying how to fix it
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another with --port", code=1)
    # The access log passes through the personal-data filter like every other record (api/app.py).
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=access_log)
    else:  # forked from one process that loaded the shared libraries first (api/prefork.py)
        from shopsense.api.prefork import serve_prefork

        serve_prefork(create_app(settings), workers, host, port, access_log)


def ensure_port_free(host: str, port: int) -> None:
    """Raise OSError when ``host:port`` cannot be listened on (in use, or not an address of this machine)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # "::" and other IPv6 addresses
    with socket.create_server((host, port), family=family):
        pass


def run_pipeline(home: Path | None, options: TrainOptions) -> PipelineResult:
    """:func:`~shopsense.serving.pipeline.train_all` on the command's workspace, with a live status line."""
    from shopsense.cli.common import open_workspace
    from shopsense.nlp.builtin.train_all import BuiltinTrainingError
    from shopsense.nlp.training import TrainingDataError
    from shopsense.serving.pipeline import train_all

    with open_workspace(home, create=True) as workspace, err_console.status("training", spinner="dots") as status:
        def progress(message: str) -> None:
            err_console.print(f"[dim]- {escape(message)}[/]", highlight=False)
            status.update(escape(message))

        try:
            return train_all(workspace, options, progress=progress)
        except BuiltinTrainingError as exc:  # a task asked for by name that cannot be trained
            fail(str(exc), code=2)
        except (ValueError, TrainingDataError) as exc:
            fail(str(exc), code=1)


def print_pipeline(result: PipelineResult) -> None:
    """What a pipeline run published and promoted, and why."""
    for note in result.notes:
        console.print(note, highlight=False, markup=False)
    for line in result.decisions:
        console.print(f"[bold green]published[/] {escape(line)}", highlight=False)
    if not result.decisions:
        console.print("nothing new to publish: every model is current", highlight=False)
    if result.opinion_mentions is not None:
        console.print(f"[bold green]opinion index[/] {result.opinion_mentions} aspect mentions", highlight=False)
    candidates = [d.split(":")[0] for d in result.decisions if ": candidate" in d]
    if candidates:
        console.print(f"not promoted: {', '.join(candidates)}; serve a candidate to a share of users with "
                      "SHOPSENSE_AB_SHARE, or `shopsense models promote MODEL VERSION`", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        home: HomeOption = None,
        host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
        access_log: Annotated[bool, typer.Option("--access-log/--no-access-log",
                                                 help="Log every request (masked).")] = True,
        workers: Annotated[int | None, typer.Option("--workers", min=1, max=64, help=(
            "Server processes (default: one per core but one, at most 4).")) ] = None,
    ) -> None:
        """Serve the JSON API and web pages for a prepared workspace."""
        serve_workspace(settings_for(home, create=False), host, port, access_log, workers or default_workers())

    @app.command("retrain")
    def retrain(
        home: HomeOption = None,
        promote: Annotated[bool | None, typer.Option(
            "--promote/--no-promote", help="Always / never make the new versions production (default: each one "
                                           "not worse than production on validation).")] = None,
        full: Annotated[bool, typer.Option("--full", help="Refit from scratch instead of folding in.")] = False,
    ) -> None:
        """Fold new events into the models (new users and items included), publish, promote what is not worse."""
        from shopsense.registry import Registry
        from shopsense.serving.pipeline import TrainOptions

        settings = settings_for(home, create=False)
        options = TrainOptions.of_latest(Registry(settings.artifacts_dir), fold_in=not full, promote=promote)
        print_pipeline(run_pipeline(home, options))

    @report_app.command("ab")
    def report_ab(home: HomeOption = None) -> None:
        """Click-through (clicks/views) and conversion (purchases/clicks) per served model version."""
        from shopsense.core.store import Store
        from shopsense.serving.ab import report_ab as build

        settings = settings_for(home, create=False)
        with Store.from_settings(settings) as store:
            frame = build(store.events_since(None))
        if len(frame) == 0:
            console.print("no events carry a model version yet; the storefront and API clients add it")
            return
        table = Table(title="A/B: per served version", title_justify="left")
        for col in ("version", "users", "views", "clicks", "carts", "purchases", "CTR", "conversion"):
            table.add_column(col, justify="left" if col == "version" else "right")
        for r in frame.itertuples(index=False):
            table.add_row(r.model_version, str(r.users), str(r.views), str(r.clicks), str(r.carts),
                          str(r.purchases), _pct(r.ctr, r.ctr_se), _pct(r.conversion, r.conversion_se))
        console.print(table)

    app.add_typer(report_app, name="report")


def _pct(value: float | None, se: float | None) -> str:
    if value is None or value != value:
        return "-"
    return f"{100 * value:.1f}% ± {100 * (se or 0):.1f}"
