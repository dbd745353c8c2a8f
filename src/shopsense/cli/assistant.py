"""``shopsense chat``."""

from __future__ import annotations

import typer

from shopsense.cli.common import not_built


def register(app: typer.Typer) -> None:
    @app.command("chat")
    def chat() -> None:
        """Talk to the shopping assistant in the terminal."""
        not_built("shopsense chat", "issue 6")
