"""Loading a store directory (the format in docs/architecture.md) into :class:`StoreData`, with a report.

    result = load_store_dir("shop/")          # never raises for bad content
    result.report.ok, result.report.problems  # every problem with file, line and column
    store = load_store_dir_strict("shop/")    # raises StoreDataError listing the first problems

A store directory holds ``items``, ``interactions``, ``reviews``, ``faq``, ``orders`` and ``users``,
each as ``NAME.csv``, ``NAME.jsonl`` or ``NAME.parquet``, plus ``policies/*.md`` (FAQ entries) and
``store.json`` (the shop's name, logo, currency and locale: :mod:`shopsense.core.store_identity`).
Rows that fail a check are rejected and reported; nothing is dropped without a message. Rows naming
an item that is not in the catalog are rejected too (the error says whether the item is missing or
was itself rejected). Read-me, licence and source notes (README*, LICENSE*, SOURCE*, ...) and hidden
files are ignored; any other unknown file is a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from shopsense.core.load_policies import load_policies
from shopsense.core.load_readers import READ_FORMATS, read_raw
from shopsense.core.load_tables import TableLoad, validate_table
from shopsense.core.media import MediaFile, local_images
from shopsense.core.records import TABLE_COLUMNS, StoreData, empty_table
from shopsense.core.store_identity import FILE as IDENTITY_FILE
from shopsense.core.store_identity import read_file as read_identity
from shopsense.core.validation import Problem, TableReport, ValidationReport, format_problem

__all__ = ["LoadResult", "StoreDataError", "format_problem", "load_store_dir", "load_store_dir_strict",
           "read_table"]

log = logging.getLogger(__name__)
TABLES: tuple[str, ...] = StoreData.TABLES
_NOTES = ("readme", "license", "licence", "source", "notice", "copying", "changelog", "authors")
_HINTS = {".json": "JSON Lines files end in .jsonl (one object per line)", ".tsv": "save it as .csv",
          ".xlsx": "export it as .csv", ".xls": "export it as .csv", ".gz": "decompress it first",
          ".zip": "unpack it first", ".txt": "rename it .csv if it is comma-separated"}


@dataclass
class LoadResult:
    """What :func:`load_store_dir` returns: the kept rows as :class:`StoreData` and the full report."""

    store: StoreData
    report: ValidationReport
    identity: dict[str, str] = field(default_factory=dict)  # store.json's checked fields (name, currency...)
    media: dict[str, MediaFile] = field(default_factory=dict)  # the items' local images, by their /media name


class StoreDataError(Exception):
    """A store directory has errors; ``report`` holds all of them, the message the first few."""

    def __init__(self, report: ValidationReport, max_problems: int = 20) -> None:
        errors = report.errors
        lines = [format_problem(p) for p in errors[:max_problems]]
        if len(errors) > max_problems:
            lines.append(f"... and {len(errors) - max_problems} more errors")
        super().__init__(f"{len(errors)} error(s) in the store directory:\n" + "\n".join(lines))
        self.report = report


def read_table(path: Path, name: str, display: str | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """One file as table ``name``: the kept rows (canonical columns and dtypes) and the problems.

    Only checks within the file run here (no unknown-item check). ``display`` is the file name used
    in problems (default: the file's name).
    """
    if name not in TABLE_COLUMNS:
        raise ValueError(f"unknown table {name!r}; expected one of {', '.join(TABLES)}")
    load = _load_file(Path(path), name, display or Path(path).name)
    return load.frame, load.problems


def _load_file(path: Path, name: str, display: str) -> TableLoad:
    try:
        return validate_table(read_raw(path, name, display), name)
    except Exception as exc:  # noqa: BLE001 - a bug must still surface as a located error, not a traceback
        log.exception("unexpected failure reading %s", display)
        report = TableReport(table=name, file=display)
        problem = Problem(display, None, None, f"could not be read ({type(exc).__name__}: {exc})", table=name,
                          reason="unreadable file")
        return TableLoad(name, display, empty_table(name), None, np.zeros(0, dtype=np.int64), [problem],
                         report, usable=False)


def _discover(root: Path, problems: list[Problem]) -> tuple[dict[str, Path], Path | None]:
    """Table files and the policies folder; unknown files and doubled tables reported."""
    found: dict[str, list[Path]] = {}
    policies = None
    for entry in sorted(root.iterdir()):
        name = entry.name
        if name.startswith(".") or name.lower().startswith(_NOTES):
            continue
        if entry.is_dir():
            if name == "policies":
                policies = entry
            else:
                problems.append(_warn(name + "/", "unknown folder, not read (only policies/ is)"))
            continue
        if name == IDENTITY_FILE and entry.is_file():
            continue  # the store's name, currency and locale: read by load_store_dir
        stem, dot, suffix = name.partition(".")
        suffix = dot + suffix
        if stem in TABLES and suffix in READ_FORMATS:
            found.setdefault(stem, []).append(entry)
            continue
        hint = next((h for ext, h in _HINTS.items() if name.lower().endswith(ext)), "")
        if stem.lower() in TABLES and not hint:
            hint = f"table files are named {stem.lower()}.csv, {stem.lower()}.jsonl or {stem.lower()}.parquet"
        hint = hint or f"tables are {', '.join(TABLES)}; policies go in policies/"
        problems.append(_warn(name, f"unknown file, not read ({hint})"))
    files: dict[str, Path] = {}
    for table, paths in found.items():
        if len(paths) > 1:
            names = " and ".join(p.name for p in paths)
            message = f"table {table!r} is given twice ({names}); keep one file per table. Neither is read"
            problems.append(Problem(paths[1].name, None, None, message, table=table, reason="two files"))
        else:
            files[table] = paths[0]
    if policies is not None:
        for entry in sorted(policies.iterdir()):
            if not entry.name.startswith(".") and (entry.suffix.lower() != ".md" or not entry.is_file()):
                problems.append(_warn(f"policies/{entry.name}", "not a .md file, not read"))
    return files, policies


def _warn(file: str, message: str) -> Problem:
    return Problem(file, None, None, message, severity="warning", reason="unknown file")


def load_store_dir(path: str | Path) -> LoadResult:
    """Read and check every table of the store directory ``path``; never raises for bad content.

    Raises ``FileNotFoundError``/``NotADirectoryError`` only when ``path`` is not a directory.
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"store directory not found: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"not a directory: {root}")
    problems: list[Problem] = []
    files, policies = _discover(root, problems)
    identity: dict[str, str] = {}
    if (root / IDENTITY_FILE).is_file():
        identity, found = read_identity(root / IDENTITY_FILE)
        problems.extend(found)
    loads: dict[str, TableLoad] = {name: _load_file(p, name, p.name) for name, p in files.items()}
    if "items" not in files:
        already = any(p.table == "items" for p in problems)
        if not already:
            problems.append(Problem("items", None, None, "the items table is required (items.csv, "
                                    "items.jsonl or items.parquet)", table="items", reason="missing table"))
    if "interactions" not in files and "reviews" not in files:
        problems.append(Problem("interactions", None, None, "no interactions or reviews table: "
                                "recommendations cannot be trained", severity="warning",
                                reason="missing table"))

    _check_items(loads, problems)
    media: dict[str, MediaFile] = {}
    if "items" in loads and loads["items"].usable:
        media, found = local_images(root, loads["items"])
        problems.extend(found)
    faq_frame = _merge_policies(loads, policies, problems)
    report = ValidationReport(tables={})
    for name in TABLES:
        if name in loads:
            problems.extend(loads[name].problems)
            report.tables[name] = loads[name].report
        if name == "faq" and faq_frame is not None:
            report.tables["policies"] = faq_frame[1]
    report.problems = sorted(problems, key=_order)
    tables = {name: loads[name].frame if name in loads else empty_table(name) for name in TABLES}
    if faq_frame is not None:
        tables["faq"] = faq_frame[0]
    return LoadResult(store=StoreData(**tables), report=report, identity=identity, media=media)


def _order(p: Problem) -> tuple:
    """Problems sorted by file then position, file-level ones first."""
    return (p.file, p.line if p.line is not None else (p.row if p.row is not None else -1))


def _check_items(loads: dict[str, TableLoad], problems: list[Problem]) -> None:
    """Reject interaction, review and order rows naming an item that is not in the catalog."""
    items = loads.get("items")
    users = [loads[n] for n in ("interactions", "reviews", "orders") if n in loads and len(loads[n].frame)]
    if not users:
        return
    if items is None or not items.usable:
        problems.append(Problem("items", None, "item_id", "item_id values in other tables were not "
                                "checked because the items table could not be read", severity="warning",
                                table="items", reason="not checked"))
        return
    known = pd.Index(items.frame["item_id"].unique())
    for load in users:
        ids = load.frame["item_id"]
        unknown = ~ids.isin(known).to_numpy()
        if not unknown.any():
            continue
        messages = []
        for item_id in ids[unknown]:
            first = items.rejected_ids.get(item_id)
            if first is not None:
                where = f"{first.file}:{first.line if first.line is not None else f'row {first.row}'}"
                messages.append(f"item_id {item_id!r} names an item that was rejected ({where})")
            else:
                messages.append(f"item_id {item_id!r} is not in {items.file}")
        load.drop(unknown, "item_id", "unknown item", messages)


def _merge_policies(loads: dict[str, TableLoad], folder: Path | None,
                    problems: list[Problem]) -> tuple[pd.DataFrame, TableReport] | None:
    """The FAQ table with policy entries appended (an id already in the FAQ file rejects the entry)."""
    if folder is None:
        return None
    policies = load_policies(folder)
    problems.extend(policies.problems)
    faq = loads["faq"].frame if "faq" in loads else empty_table("faq")
    taken = set(faq["faq_id"])
    clash = policies.frame["faq_id"].isin(taken).to_numpy()
    for i in np.flatnonzero(clash):
        message = f"FAQ id {policies.frame['faq_id'].iat[i]!r} is already in the FAQ file; section rejected"
        problems.append(Problem(policies.files[i], policies.lines[i], None, message, table="faq",
                                reason="duplicate id"))
        policies.report.reject("duplicate id")
    kept = policies.frame[~clash]
    policies.report.rows_kept = len(kept)
    merged = pd.concat([faq, kept], ignore_index=True) if len(faq) else kept.reset_index(drop=True)
    return merged, policies.report


def load_store_dir_strict(path: str | Path, max_problems: int = 20) -> StoreData:
    """Like :func:`load_store_dir` but raise :class:`StoreDataError` when there is any error."""
    result = load_store_dir(path)
    if not result.report.ok:
        raise StoreDataError(result.report, max_problems=max_problems)
    return result.store
