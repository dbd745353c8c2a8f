"""``shopsense serve``, ``retrain`` and ``report``."""

from __future__ import annotations

import typer

from shopsense.cli.common import not_built


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve() -> None:
        """Serve the JSON API and web pages for a prepared workspace."""
        not_built("shopsense serve", "issue 5")

    @app.command("retrain")
    def retrain() -> None:
        """Fold new events into the models and publish a new version."""
        not_built("shopsense retrain", "issue 5")

    @app.command("report")
    def report() -> None:
        """Reports over events (A/B comparison)."""
        not_built("shopsense report", "issue 5")
