"""``shopsense data``: check a store directory.

``shopsense data check DIR`` loads DIR exactly as ``shopsense import`` would, prints one summary row
per table (rows read, kept, rejected and the main reasons), then every problem as
``file:line:column: message``. Exit status: 0 when there is no error (warnings allowed), 1 when there
are errors, 2 when DIR cannot be checked at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from shopsense.cli.common import console, fail
from shopsense.core.atomic import write_text_atomic
from shopsense.core.loaders import load_store_dir
from shopsense.core.validation import ValidationReport, format_problem

app = typer.Typer(no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Check store directories."""  # a callback keeps `check` a sub-command even while it is the only one


def _summary(report: ValidationReport) -> Table:
    table = Table(title="Tables", title_justify="left")
    for name, justify in (("table", "left"), ("file", "left"), ("read", "right"), ("kept", "right"),
                          ("rejected", "right"), ("why rejected", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for name, t in report.tables.items():
        reasons = sorted(t.reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        why = ", ".join(f"{reason} {n}" for reason, n in reasons[:3])
        if len(reasons) > 3:
            why += f", {len(reasons) - 3} more"
        rejected = Text(str(t.rows_rejected), style="red" if t.rows_rejected else "")
        table.add_row(name, Text(t.file), str(t.rows_read), str(t.rows_kept), rejected, Text(why))
    return table


def _write_json(path: Path, payload: dict) -> None:
    """Write atomically: a reader never sees half a report."""
    write_text_atomic(path, json.dumps(payload, indent=2, ensure_ascii=False, default=str))


@app.command()
def check(
    directory: Annotated[Path, typer.Argument(help="The store directory to check.", show_default=False)],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the full report as JSON.")] = None,
    limit: Annotated[int, typer.Option(help="Print at most this many problems (0: all).")] = 200,
) -> None:
    """Validate a store directory: summary per table, then every problem as file:line:column."""
    if not directory.exists():
        fail(f"store directory not found: {directory}")
    if not directory.is_dir():
        fail(f"not a directory: {directory}")
    try:
        result = load_store_dir(directory)
    except OSError as exc:
        fail(f"cannot read {directory}: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - the promise is a clean message, never a traceback
        fail(f"checking {directory} failed unexpectedly ({type(exc).__name__}: {exc})")
    report = result.report
    console.print(f"Store directory: {directory}", highlight=False, markup=False)
    console.print(_summary(report))
    shown = report.problems if limit <= 0 else report.problems[:limit]
    for p in shown:
        style = "red" if p.severity == "error" else "yellow"
        line = Text(f"{p.severity}: ", style=f"bold {style}")
        line.append(format_problem(p), style=style)
        console.print(line, soft_wrap=True, highlight=False)
    if len(shown) < len(report.problems):
        console.print(f"... {len(report.problems) - len(shown)} more problems not shown "
                      "(--limit 0 shows all, --json writes all)", highlight=False)
    if json_out is not None:
        try:
            _write_json(json_out, {"directory": str(directory), **report.to_dict()})
        except OSError as exc:
            fail(f"cannot write {json_out}: {exc.strerror or exc}")
    n_err, n_warn = len(report.errors), len(report.warnings)
    kept = sum(t.rows_kept for t in report.tables.values())
    if n_err:
        console.print(Text(f"FAILED: {n_err} error(s), {n_warn} warning(s)", style="bold red"))
        raise typer.Exit(1)
    console.print(Text(f"OK: {kept} rows kept, {n_warn} warning(s)", style="bold green"))
