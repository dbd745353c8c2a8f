"""Pieces every CLI command shares: the ``--home`` option, settings, clean error exits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from shopsense.core.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Workspace directory (default: $SHOPSENSE_HOME or ./.shopsense)."),
]


def settings_for(home: Path | None) -> Settings:
    settings = get_settings(home)
    settings.ensure_dirs()
    return settings


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error (no traceback) and exit non-zero."""
    # soft_wrap: an error stays one line (file:line:column: message), whatever the terminal width
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def not_built(feature: str, issue: str) -> NoReturn:
    """Say plainly that a command exists in the plan but is not built yet."""
    err_console.print(f"[yellow]{feature} is not built yet[/] (planned in {issue}).")
    raise typer.Exit(3)
