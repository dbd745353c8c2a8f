"""``shopsense copy`` and ``shopsense insights``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopsense.cli.common import HomeOption, settings_for


def register(app: typer.Typer) -> None:
    @app.command("copy")
    def copy(
        item_id: Annotated[str, typer.Argument(help="The item to write copy for.")],
        home: HomeOption = None,
        channel: Annotated[str, typer.Option("--channel", help="headline (<=30 chars) | short (<=90) | "
                                             "description (<=500).")] = "short",
        language: Annotated[str, typer.Option("--language", help="en | zh.")] = "en",
        n: Annotated[int, typer.Option("--n", min=1, max=10, help="How many variants.")] = 3,
        tone: Annotated[str, typer.Option("--tone", help="friendly | playful | premium | practical.")] = "friendly",
        seed: Annotated[int, typer.Option("--seed", help="Another seed gives other variants.")] = 0,
        backend: Annotated[str | None, typer.Option("--backend", help="template | local | openai (default: the "
                                                    "workspace's SHOPSENSE_GENERATOR).")] = None,
        llm_url: Annotated[str | None, typer.Option("--llm-url", help="OpenAI-compatible base URL.")] = None,
        aspect: Annotated[list[str] | None, typer.Option("--aspect", help="Only this praised aspect as a review "
                                                         "highlight (repeatable).")] = None,
        banned: Annotated[list[str] | None, typer.Option("--banned", help="A word the copy must not use "
                                                         "(repeatable).")] = None,
        no_highlights: Annotated[bool, typer.Option("--no-highlights", help="Skip the opinion index; quote "
                                                    "4-5 star reviews directly.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    ) -> None:
        """Checked ad copy for an item: N variants, each with the facts it used and its check results."""
        from shopsense.cli.marketing_copy import run_copy

        run_copy(settings_for(home, create=False), item_id=item_id, channel=channel, language=language, n=n, tone=tone,
                 seed=seed, backend=backend, llm_url=llm_url, aspects=aspect or [], banned=banned or [],
                 as_json=as_json, no_highlights=no_highlights)

    @app.command("insights")
    def insights(
        home: HomeOption = None,
        item: Annotated[str | None, typer.Option("--item", help="Only this item's reviews.")] = None,
        brand: Annotated[str | None, typer.Option("--brand", help="Only this brand's items.")] = None,
        category: Annotated[str | None, typer.Option("--category", help="Only this category (path prefix).")] = None,
        by: Annotated[str | None, typer.Option("--by", help="Break the aspect table down by item|brand|category.")
                      ] = None,
        top: Annotated[int, typer.Option("--top", min=1, max=500, help="Rows per table.")] = 10,
        alerts: Annotated[bool, typer.Option("--alerts", help="Scan for rises in negative share.")] = False,
        freq: Annotated[str, typer.Option("--freq", help="Alert/trend window: M (month), W, Q.")] = "M",
        since: Annotated[str | None, typer.Option("--since", help="Alerts only for windows from this date.")] = None,
        audit: Annotated[bool, typer.Option("--audit", help="Description audit (of --item, or the ranking).")
                         ] = False,
        chart: Annotated[Path | None, typer.Option("--chart", help="Write a PNG of aspect trends here.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
        rebuild: Annotated[bool, typer.Option("--rebuild", help="Recompute the cached opinion index.")] = False,
    ) -> None:
        """Review intelligence: praised and criticised aspects with quotes, trends, alerts, description audit."""
        from shopsense.cli.marketing_insights import run_insights

        run_insights(settings_for(home, create=False), item=item, brand=brand, category=category, by=by, top=top,
                     alerts=alerts, freq=freq, since=since, audit=audit, chart=chart, as_json=as_json,
                     rebuild=rebuild)
