"""Pieces every CLI command shares: the ``--home`` option, settings, clean error exits."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from shopsense.core.settings import Settings, get_settings

# A terminal's own width where there is one (rich measures it); piped or captured output has none, and rich's
# 80-column default would cut table cells ("product-ki…"), so it gets a width no table here reaches.
PIPED_WIDTH = 200


def _width(stream: Any) -> int | None:
    if os.environ.get("COLUMNS", "").isdigit() or (hasattr(stream, "isatty") and stream.isatty()):
        return None
    return PIPED_WIDTH


console = Console(width=_width(sys.stdout))
err_console = Console(stderr=True, width=_width(sys.stderr))

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Workspace directory (default: $SHOPSENSE_HOME or ./.shopsense)."),
]


def root_home() -> Path | None:
    """``--home`` given before the command (``shopsense --home X import DIR``), if it was."""
    try:  # typer >= 0.26 carries its own copy of click
        from typer._click.globals import get_current_context
    except ImportError:
        from click import get_current_context

    ctx = get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return obj.get("home") if isinstance(obj, dict) else None


def settings_for(home: Path | None, create: bool = True) -> Settings:
    """The settings for ``--home`` (after the command, else before it, else ``$SHOPSENSE_HOME``).

    ``create=False`` is for commands that only read a workspace: they end with an error naming the commands
    that make one, instead of creating an empty workspace as a side effect."""
    from shopsense.serving.workspace import exists

    settings = get_settings(home if home is not None else root_home())
    if not create and not exists(settings):
        fail(f"no workspace at {settings.home}: run `shopsense import DIR --home {settings.home}` then "
             f"`shopsense train --home {settings.home}` (or `shopsense demo --home {settings.home}`)", code=1)
    if create:
        settings.ensure_dirs()
    return settings


def open_workspace(home: Path | None, create: bool = False) -> Any:
    """The command's :class:`~shopsense.serving.workspace.Workspace` (close it, or use it in ``with``)."""
    from shopsense.serving.workspace import Workspace

    return Workspace(settings_for(home, create=create))


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error (no traceback) and exit non-zero."""
    # soft_wrap: an error stays one line (file:line:column: message), whatever the terminal width
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def not_built(feature: str, issue: str) -> NoReturn:
    """Say plainly that a command exists in the plan but is not built yet."""
    err_console.print(f"[yellow]{feature} is not built yet[/] (planned in {issue}).")
    raise typer.Exit(3)
