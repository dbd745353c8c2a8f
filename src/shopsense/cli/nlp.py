"""``shopsense nlp ...`` and ``shopsense train``."""

from __future__ import annotations

import typer

from shopsense.cli.common import not_built

app = typer.Typer(no_args_is_help=True)


def register(root: typer.Typer) -> None:
    @root.command("train")
    def train() -> None:
        """Train the built-in models (sentiment, intent, category, recommenders) on the workspace."""
        not_built("shopsense train", "issue 3")
