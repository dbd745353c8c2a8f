"""``shopsense serve``, ``retrain`` and ``report ab``: thin shells over :mod:`shopsense.serving`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from shopsense.cli.common import HomeOption, console, err_console, fail, settings_for
from shopsense.core.settings import Settings

report_app = typer.Typer(no_args_is_help=True, help="Reports over the event log.")


def serve_workspace(settings: Settings, host: str, port: int) -> None:
    """Serve the API and pages of a prepared workspace until interrupted."""
    import uvicorn

    from shopsense.api.app import create_app
    from shopsense.registry import Registry
    from shopsense.serving.training import RECOMMENDER

    if Registry(settings.artifacts_dir).production_version(RECOMMENDER) is None:
        fail(f"no trained recommender in {settings.home}; run `shopsense demo --no-serve` or "
             "`shopsense import DIR` then `shopsense train`", code=1)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    console.print(f"[bold green]serving[/] {settings.home} at http://{shown}:{port}/  "
                  f"(API docs: http://{shown}:{port}/docs; Ctrl+C stops)", highlight=False)
    try:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc}", code=1)


def _progress(message: str) -> None:
    err_console.print(f"[dim]{message}[/]", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        home: HomeOption = None,
        host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    ) -> None:
        """Serve the JSON API and web pages for a prepared workspace."""
        serve_workspace(settings_for(home), host, port)

    @app.command("retrain")
    def retrain(
        home: HomeOption = None,
        promote: Annotated[bool, typer.Option("--promote/--no-promote",
                                              help="Make the new version production (default: keep it "
                                                   "as the A/B candidate).")] = False,
        full: Annotated[bool, typer.Option("--full", help="Refit from scratch instead of folding in.")] = False,
    ) -> None:
        """Fold new events into the models (new users and items included) and publish a new version."""
        from shopsense.serving.training import retrain as run

        settings = settings_for(home)
        try:
            result = run(settings, promote=promote, full=full, progress=_progress)
        except ValueError as exc:
            fail(str(exc), code=1)
        for note in result.notes:
            console.print(note, highlight=False)
        if result.recommender:
            console.print(f"published recommender {result.recommender.version} ({result.mode})", highlight=False)
        if result.search:
            console.print(f"published search {result.search.version}", highlight=False)
        if result.promoted:
            console.print(f"promoted: {', '.join(result.promoted)}", highlight=False)
        elif result.recommender:
            console.print(f"not promoted: {result.recommender.version} is the candidate; serve it to a share "
                          "of users with SHOPSENSE_AB_SHARE, or `shopsense models promote recommender "
                          f"{result.recommender.version}`", highlight=False)

    @report_app.command("ab")
    def report_ab(home: HomeOption = None) -> None:
        """Click-through (clicks/views) and conversion (purchases/clicks) per served model version."""
        from shopsense.core.store import Store
        from shopsense.serving.ab import report_ab as build

        settings = settings_for(home)
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
