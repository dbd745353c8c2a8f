"""``shopsense models list|show|promote|rollback|history``: the versioned model registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from shopsense.cli.common import HomeOption, console, fail, settings_for

app = typer.Typer(no_args_is_help=True)

ModelArg = Annotated[str, typer.Argument(help="Model name, e.g. intent.")]


def _registry(home: Path | None) -> Any:
    from shopsense.registry import Registry

    return Registry(settings_for(home, create=False).artifacts_dir)


def _headline(card: dict[str, Any]) -> str:
    """The one number worth showing in a list: test macro-F1 for classifiers, else the first metric."""
    test = card.get("metrics", {}).get("test", {})
    if isinstance(test, dict) and test.get("macro_f1") is not None:
        return f"macro-F1 {test['macro_f1']:.3f}"
    for key, value in (card.get("metrics") or {}).items():
        if isinstance(value, int | float):
            return f"{key} {value:.3f}"
    return ""


@app.command("list")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON (for scripts).")] = False,
    home: HomeOption = None,
) -> None:
    """Every model with its versions, latest and production versions."""
    from shopsense.registry import RegistryError

    registry = _registry(home)
    models = registry.models()
    rows = []
    for name in models:
        try:
            latest = registry.get(name, "latest")
            rows.append({"model": name, "kind": str(latest.card.get("kind", "")),
                         "versions": len(registry.version_names(name)), "latest": latest.version,
                         "production": registry.production_version(name),
                         "created_latest": latest.created_at.isoformat(timespec="seconds"),
                         "test": _headline(latest.card)})
        except RegistryError as exc:
            rows.append({"model": name, "error": str(exc)})
    if as_json:
        console.print_json(data={"root": str(registry.root), "models": rows})
        return
    if not models:
        console.print(f"no models in {registry.root} yet; train one with `shopsense nlp train` or "
                      "`shopsense train`", highlight=False)
        return
    table = Table(title=f"Models in {registry.root}", title_justify="left")
    for col in ("model", "kind", "versions", "latest", "production", "created (latest)", "test"):
        table.add_column(col, overflow="fold")  # a narrow or piped terminal wraps a cell, never cuts it
    for row in rows:
        if "error" in row:
            table.add_row(row["model"], "", "", "", "", "", f"[red]{escape(row['error'])}[/]")
            continue
        table.add_row(row["model"], row["kind"], str(row["versions"]), row["latest"], row["production"] or "-",
                      row["created_latest"].replace("T", " ")[:16], row["test"])
    console.print(table)


@app.command("show")
def show_cmd(
    model: ModelArg,
    version: Annotated[str | None, typer.Argument(
        help="Version or alias (default: production, else latest).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole card as JSON.")] = False,
    home: HomeOption = None,
) -> None:
    """One version's card: data, parameters, metrics, files."""
    from shopsense.registry import RegistryError

    registry = _registry(home)
    try:
        ref = version or ("production" if registry.production_version(model) else "latest")
        mv = registry.get(model, ref)
        aliases = registry.aliases(model)
    except RegistryError as exc:
        fail(str(exc))
    if as_json:
        console.print_json(json.dumps(mv.card, ensure_ascii=False))
        return
    tags = [a for a in ("latest", "production") if aliases.get(a) == mv.version]
    suffix = f"({', '.join(tags)})" if tags else ""
    console.print(f"[bold]{model} {mv.version}[/] {suffix}", highlight=False)
    console.print(f"path: {mv.path}\ncreated: {mv.created_at.isoformat()}\nkind: {mv.card.get('kind')}",
                  highlight=False, markup=False)
    card = mv.card
    data = card.get("data")
    if isinstance(data, dict):
        console.print(f"data: {data.get('source')} sha256 {str(data.get('sha256'))[:16]}... "
                      f"rows used {data.get('rows_used')}", highlight=False, markup=False)
    if card.get("kind") == "text-classifier":
        from shopsense.nlp.reports import candidates_table, per_class_table

        console.print(per_class_table(card["metrics"]["test"], title="test set"))
        if card.get("candidates"):
            console.print(candidates_table(card))
            console.print(f"encoder: {card['encoder'].get('reason')}", highlight=False, markup=False)
        for base in card.get("baselines", []):
            console.print(f"baseline {base['name']}: accuracy {base['test']['accuracy']:.3f}, "
                          f"macro-F1 {base['test']['macro_f1']:.3f}", highlight=False)
        if card.get("out_of_scope"):
            oos = card["out_of_scope"]
            console.print(f"out of scope -> {oos['unknown_label']!r}: confidence < "
                          f"{oos['confidence_threshold']:.3f} or similarity < "
                          f"{oos['similarity_threshold']:.3f}", highlight=False, markup=False)
    elif card.get("metrics"):
        console.print_json(json.dumps(card["metrics"], ensure_ascii=False))
    files = Table(title="files", title_justify="left")
    files.add_column("file")
    files.add_column("bytes", justify="right")
    for name, meta in card.get("files", {}).items():
        files.add_row(name, f"{meta.get('bytes', 0):,}")
    console.print(files)


@app.command("promote")
def promote_cmd(model: ModelArg,
                version: Annotated[str, typer.Argument(help="Version to serve, e.g. v0003 or latest.")],
                home: HomeOption = None) -> None:
    """Point the production alias at a version (servers pick it up on their next reload)."""
    from shopsense.registry import RegistryError

    registry = _registry(home)
    try:
        before = registry.production_version(model)
        mv = registry.promote(model, version)
    except RegistryError as exc:
        fail(str(exc))
    console.print(f"{model}: production {before or '-'} -> {mv.version}", highlight=False)


@app.command("rollback")
def rollback_cmd(model: ModelArg, home: HomeOption = None) -> None:
    """Point production back at the version that was production before the current one."""
    from shopsense.registry import RegistryError

    registry = _registry(home)
    try:
        before = registry.production_version(model)
        mv = registry.rollback(model)
    except RegistryError as exc:
        fail(str(exc))
    console.print(f"{model}: production {before} -> {mv.version} (rolled back)", highlight=False)


@app.command("history")
def history_cmd(model: ModelArg, home: HomeOption = None) -> None:
    """Every promotion and rollback of a model, oldest first."""
    from shopsense.registry import RegistryError

    registry = _registry(home)
    try:
        registry.resolve(model, "latest")
        events = registry.history(model)
    except RegistryError as exc:
        fail(str(exc))
    table = Table(title=f"{model}: production history", title_justify="left")
    for col in ("when", "action", "version", "previous"):
        table.add_column(col)
    for event in events:
        table.add_row(event.get("at", ""), event.get("action", ""), event.get("version", ""),
                      event.get("previous") or "-")
    console.print(table)
