"""The body of ``shopsense insights``: tables (rich), JSON, alerts, the description audit and a trend PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from rich.table import Table

from shopsense.cli.common import console, err_console, fail
from shopsense.core.settings import Settings

FREQS = ("W", "M", "Q", "Y")


def _where(item: str | None, brand: str | None, category: str | None) -> dict[str, str | None]:
    return {"item_id": item, "brand": brand, "category": category}


def _aspect_table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in frame.columns:
        table.add_column(col.replace("_", " "), justify="right" if frame[col].dtype.kind in "if" else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row])
    return table


def _summary_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=True)
    for col in ("aspect", "mentions", "+", "-", "quotes"):
        table.add_column(col, justify="right" if col in ("mentions", "+", "-") else "left")
    for r in rows:
        table.add_row(r["aspect"], str(r["mentions"]), str(r["positive"]), str(r["negative"]),
                      "\n".join(f"“{q}”" for q in r["quotes"]))
    return table


def run_insights(settings: Settings, *, item: str | None, brand: str | None, category: str | None, by: str | None,
                 top: int, alerts: bool, freq: str, since: str | None, audit: bool, chart: Path | None,
                 as_json: bool, rebuild: bool) -> None:
    """Print the insights asked for; every bad option ends in a one-line error naming it."""
    from shopsense.core.store import Store
    from shopsense.marketing.alerts import detect_alerts
    from shopsense.marketing.opinion_store import load_opinions

    if by is not None and by not in ("item", "brand", "category"):
        fail(f"--by must be item, brand or category, not {by!r}")
    if freq.upper() not in FREQS:
        fail(f"--freq must be one of {', '.join(FREQS)}, not {freq!r}")
    freq = freq.upper()
    if since is not None:
        try:
            pd.Timestamp(since)
        except ValueError:
            fail(f"--since: not a date: {since!r} (use YYYY-MM-DD)")
    with Store.from_settings(settings) as store:
        if not store.counts().get("reviews"):
            fail(f"no reviews in the store at {settings.home}; run `shopsense import DIR` first", code=1)
        data = store.load() if (item or audit) else None
        if item and data is not None and item not in set(data.items["item_id"]):
            fail(f"--item: unknown item {item!r}", code=1)
        err_console.print("[dim]reading reviews (cached after the first run)...[/]", highlight=False)
        index = load_opinions(settings, store, rebuild=rebuild)
    where = _where(item, brand, category)
    scope = item or brand or category or "all reviews"
    summary = index.summary(top=top, **where)
    out: dict[str, Any] = {"scope": scope, "summary": summary}
    table = index.aspect_table(by=by, **where).head(top)
    out["aspects"] = table.to_dict("records")
    if alerts:
        found = detect_alerts(index.select(**where), freq=freq, since=since, by=by)
        out["alerts"] = [a.as_dict() for a in found]
    if audit:
        from shopsense.marketing.audit import DescriptionAuditor

        auditor = DescriptionAuditor(cache_dir=str(settings.cache_dir)).fit(data.items, index)  # type: ignore[union-attr]
        out["audit"] = [auditor.audit(item).as_dict()] if item else [a.as_dict() for a in auditor.rank(top)]
    if chart is not None:
        from shopsense.marketing.opinion_charts import trend_png, write_png

        trend = index.trend(freq="Q" if freq == "M" else freq, top=min(top, 6), **where)
        out["chart"] = str(write_png(trend_png(trend, f"Aspect trends: {scope}"), chart))
    if as_json:
        console.print_json(json.dumps(out, default=str, ensure_ascii=False))
        return
    console.print(f"[bold]{scope}[/]: {summary['reviews']} reviews, {summary['mentions']} aspect mentions "
                  f"(scored by {summary['model']})", highlight=False)
    if summary["mentions"] == 0:
        console.print("no aspect mentions here", highlight=False)
        return
    console.print(_aspect_table(table, "aspects"))
    console.print(_summary_table(summary["praised"], "top praised"))
    console.print(_summary_table(summary["criticised"], "top criticised"))
    if alerts:
        _print_alerts(out["alerts"], freq)
    if audit:
        _print_audit(out["audit"])
    if chart is not None:
        console.print(f"chart written to {out['chart']}", highlight=False)


def _print_alerts(found: list[dict[str, Any]], freq: str) -> None:
    if not found:
        console.print(f"no alerts: no significant rise in any aspect's negative share (window {freq}, "
                      "one-sided Fisher exact vs the preceding windows, Benjamini-Hochberg q <= 0.05)",
                      highlight=False)
        return
    table = Table(title="alerts", title_justify="left", show_lines=True)
    for col in ("aspect", "scope", "window", "negative", "baseline", "q", "quotes"):
        table.add_column(col)
    for a in found:
        table.add_row(a["aspect"], a["scope"], f"{a['window_start']}..{a['window_end']}",
                      f"{a['window_negative']}/{a['window_mentions']} ({a['window_share']:.0%})",
                      f"{a['baseline_negative']}/{a['baseline_mentions']} ({a['baseline_share']:.0%})",
                      f"{a['q_value']:.2g}", "\n".join(f"“{q}”" for q in a["quotes"]))
    console.print(table)


def _print_audit(audits: list[dict[str, Any]]) -> None:
    table = Table(title="description audit (most to gain first)", title_justify="left", show_lines=True)
    for col in ("item", "score", "issues", "suggested rewrite"):
        table.add_column(col)
    for a in audits:
        table.add_row(f"{a['item_id']}\n{a['title'][:60]}", f"{a['score']:.2f}", "\n".join(a["issues"]),
                      a["suggested_rewrite"][:400])
    console.print(table)


def prepare_opinion_index(settings: Settings) -> None:
    """Build the review opinion index now (after the sentiment model it depends on), so the dashboard, the
    insights API and copy highlights answer at once instead of building it on first use."""
    import time

    from shopsense.marketing.opinion_store import load_opinions

    err_console.print("[dim]building the review opinion index (every review's aspects and their sentiment)[/]",
                      highlight=False)
    started = time.perf_counter()
    try:
        index = load_opinions(settings)
    except Exception as exc:  # noqa: BLE001 - insights can still be built on first use; training succeeded
        err_console.print(f"[yellow]warning:[/] the opinion index was not built ({type(exc).__name__}: {exc}); "
                          "it will be built on first use", highlight=False)
        return
    console.print(f"[bold green]opinion index[/] {len(index.mentions)} aspect mentions "
                  f"({time.perf_counter() - started:.0f} s)", highlight=False)
