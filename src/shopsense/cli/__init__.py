"""The ``shopsense`` command: one Typer sub-app or command per capability, thin over the library."""

from __future__ import annotations

import typer

from shopsense.cli import (
    assistant,
    data,
    encoder,
    llm,
    marketing,
    models,
    nlp,
    recommend,
    scale,
    serving,
    store,
    users,
)
from shopsense.cli.common import HomeOption

app = typer.Typer(
    name="shopsense",
    help="Self-hostable AI layer for online stores. Every command takes --home DIR.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

@app.callback()
def _root(ctx: typer.Context, home: HomeOption = None) -> None:
    """Self-hostable AI layer for online stores. ``--home DIR`` goes before or after the command."""
    ctx.obj = {"home": home}


app.add_typer(data.app, name="data", help="Check store directories.")
store.register(app)  # import, demo
nlp.register(app)  # train (built-in tasks)
app.add_typer(nlp.app, name="nlp", help="Train, evaluate and run text classifiers.")
app.add_typer(models.app, name="models", help="The versioned model registry.")
app.add_typer(encoder.app, name="encoder", help="Build and inspect the sentence encoders.")
app.add_typer(llm.app, name="llm", help="Serve or try the local language model.")
app.add_typer(recommend.evaluate_app, name="evaluate", help="Compare models under one protocol.")
serving.register(app)  # serve, retrain, report
assistant.register(app)  # chat
marketing.register(app)  # copy, insights
app.add_typer(users.app, name="users", help="Shoppers' data: erase a user everywhere.")
app.add_typer(scale.app, name="scale", help="The recommender pipeline as Spark jobs.")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
