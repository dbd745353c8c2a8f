"""``shopsense evaluate recommend``."""

from __future__ import annotations

import typer

from shopsense.cli.common import not_built

evaluate_app = typer.Typer(no_args_is_help=True)


@evaluate_app.command("recommend")
def evaluate_recommend() -> None:
    """Train every recommender and baseline on a store directory and print one comparison table."""
    not_built("shopsense evaluate recommend", "issue 4")
