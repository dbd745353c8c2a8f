"""``shopsense copy`` and ``shopsense insights``."""

from __future__ import annotations

import typer

from shopsense.cli.common import not_built


def register(app: typer.Typer) -> None:
    @app.command("copy")
    def copy() -> None:
        """Generate ad copy and descriptions for an item."""
        not_built("shopsense copy", "issue 7")

    @app.command("insights")
    def insights() -> None:
        """Review-opinion monitoring: aspects, trends, alerts."""
        not_built("shopsense insights", "issue 7")
