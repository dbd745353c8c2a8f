"""Problems found in a store directory, the per-table row accounting, and vectorised value checks.

Every rejected row and every file-level issue becomes one :class:`Problem` that says where it is
(file, physical line, column) and what is wrong. The value parsers (:func:`parse_timestamps`,
:func:`parse_numbers`, ...) work on whole columns at once and return the parsed values plus a mask
of the cells that failed; the loaders turn masks into row-level messages, so the cost of a message
is paid only for bad rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a store directory: where it is (file, line, column) and what it is.

    ``line`` is the 1-based physical line where the record starts (the CSV header is line 1);
    ``row`` is the 1-based record number, the only location a parquet file has. ``reason`` is the
    short category counted in :attr:`TableReport.reasons`.
    """

    file: str
    line: int | None
    column: str | None
    message: str
    severity: Severity = "error"
    table: str = ""
    row: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        return format_problem(self)


def format_problem(p: Problem) -> str:
    """``file:line:column: message`` (parquet rows read ``file:row N:column``; absent parts left out)."""
    parts = [p.file]
    if p.line is not None:
        parts.append(str(p.line))
    elif p.row is not None:
        parts.append(f"row {p.row}")
    if p.column:
        parts.append(p.column)
    return ":".join(parts) + ": " + p.message


@dataclass
class TableReport:
    """Row accounting for one table: rows read, kept and rejected, and how many were rejected for what.

    Each rejected row is counted once, under the first reason found for it (a row can still have
    several problems listed in the report), so ``sum(reasons.values()) == rows_rejected``.
    """

    table: str
    file: str
    rows_read: int = 0
    rows_kept: int = 0
    rows_rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str, n: int = 1) -> None:
        self.rows_rejected += n
        self.reasons[reason] = self.reasons.get(reason, 0) + n


@dataclass
class ValidationReport:
    """Everything a load found: the problems (errors and warnings) and the row accounting per table."""

    problems: list[Problem] = field(default_factory=list)
    tables: dict[str, TableReport] = field(default_factory=dict)

    format_problem = staticmethod(format_problem)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not any(p.severity == "error" for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "tables": {name: asdict(t) for name, t in self.tables.items()},
            "problems": [{**asdict(p), "text": format_problem(p)} for p in self.problems],
        }


class RowChecker:
    """Collects row-level problems of one table from boolean masks over its rows.

    ``lines`` (physical start line per row, or None for parquet) and ``rows`` (1-based record
    numbers) locate each row; ``rejected`` accumulates which rows are out and ``reason`` why (first).
    """

    def __init__(self, table: str, file: str, lines: np.ndarray | None, rows: np.ndarray) -> None:
        self.table, self.file, self.lines, self.rows = table, file, lines, rows
        self.rejected = np.zeros(len(rows), dtype=bool)
        self.reason = np.full(len(rows), "", dtype=object)
        self.problems: list[Problem] = []

    def flag(self, mask: np.ndarray | pd.Series, column: str | None, reason: str,
             message: Callable[[int], str], severity: Severity = "error") -> None:
        """Report every row where ``mask`` is true; errors also reject the row."""
        mask = np.asarray(mask, dtype=bool)
        for i in np.flatnonzero(mask):
            self.problems.append(Problem(
                file=self.file, line=None if self.lines is None else int(self.lines[i]), column=column,
                message=message(int(i)), severity=severity, table=self.table, row=int(self.rows[i]),
                reason=reason))
        if severity == "error":
            fresh = mask & ~self.rejected
            self.reason[fresh] = reason
            self.rejected |= mask


# ----------------------------------------------------------------------------- value parsers
# Each takes a column as read (strings from CSV, JSON scalars, or typed parquet values) and returns
# (parsed values, mask of cells that are present but invalid); blanks are never "invalid" here.

def _blank(v: Any) -> bool:
    if isinstance(v, str):
        return not v.strip()
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float | np.floating) and v != v)


def is_blank(values: pd.Series) -> np.ndarray:
    """Missing cells: None/NaN, or a string that is empty after stripping."""
    if values.dtype != object:
        return values.isna().to_numpy()
    arr = values.to_numpy()
    try:  # every CSV column is all text: skip the type checks
        return np.fromiter((not v.strip() for v in arr), dtype=bool, count=len(arr))
    except AttributeError:
        return np.fromiter(map(_blank, arr), dtype=bool, count=len(arr))


def _scalar_text(value: Any, strip: bool) -> str | None:
    """A cell as text; None for a cell that cannot be text (a list or an object)."""
    if not isinstance(value, str) and _blank(value):
        return ""
    if isinstance(value, str):
        return value.strip() if strip else value
    if isinstance(value, bool | np.bool_):
        return str(bool(value)).lower()
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))  # an id 7 written by a float column is "7", not "7.0"
    if isinstance(value, int | float | np.integer | np.floating):
        return str(value)
    return None


def parse_text(values: pd.Series, strip: bool = False) -> tuple[pd.Series, np.ndarray]:
    """Cells as str ("" for blanks); lists and objects are invalid. ``strip`` for ids."""
    arr = values.to_numpy(dtype=object)
    if all(type(v) is str for v in arr):
        out = [v.strip() for v in arr] if strip else arr
        return pd.Series(out, index=values.index, dtype=object), np.zeros(len(arr), dtype=bool)
    converted = [_scalar_text(v, strip) for v in arr]
    bad = np.array([c is None for c in converted], dtype=bool)
    return pd.Series(["" if c is None else c for c in converted], index=values.index, dtype=object), bad


def parse_numbers(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Finite floats (NaN for blanks); text that is not a number, inf and booleans are invalid."""
    arr = values.to_numpy(dtype=object)
    blank = is_blank(values)
    bools = np.fromiter((isinstance(v, bool | np.bool_) for v in arr), dtype=bool, count=len(arr))
    candidates = pd.Series(np.where(blank | bools, None, arr), dtype=object)
    numbers = pd.to_numeric(candidates, errors="coerce").to_numpy(dtype="float64")
    bad = ~blank & (~np.isfinite(numbers) | bools)
    numbers[bad] = np.nan
    return pd.Series(numbers, index=values.index, dtype="float64"), bad


_AWARE = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")
MAX_UNIX_SECONDS = 1e11  # year 5138: anything larger is milliseconds or garbage


def parse_timestamps(values: pd.Series) -> tuple[pd.Series, np.ndarray, dict[int, str]]:
    """UTC datetimes (NaT for blanks) from ISO-8601 text or unix seconds; invalid mask; hints per row.

    ISO text without an offset is taken as UTC. Offset and offset-free strings are parsed in separate
    batches because pandas applies the first string's offset to the naive ones in a mixed batch.
    """
    n = len(values)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        ts = values.dt.tz_localize("UTC") if values.dt.tz is None else values.dt.tz_convert("UTC")
        return ts.astype("datetime64[ns, UTC]"), np.zeros(n, dtype=bool), {}
    nanos = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)  # int64 min is NaT
    hints: dict[int, str] = {}
    arr = values.to_numpy(dtype=object)
    blank = is_blank(values)
    bools = np.fromiter((isinstance(v, bool | np.bool_) for v in arr), dtype=bool, count=n)
    candidates = np.where(blank | bools, None, arr)
    numeric = pd.to_numeric(pd.Series(candidates, dtype=object), errors="coerce").to_numpy(dtype="float64")
    is_num = ~np.isnan(numeric)
    finite = np.isfinite(numeric) & (np.abs(np.nan_to_num(numeric)) < MAX_UNIX_SECONDS)
    for i in np.flatnonzero(is_num & ~finite):
        hints[int(i)] = ("is too large for unix seconds (milliseconds? divide by 1000)"
                         if np.isfinite(numeric[i]) else "is not a finite number")
    ok_num = is_num & finite
    if ok_num.any():
        nanos[ok_num] = pd.to_datetime(numeric[ok_num], unit="s").as_unit("ns").asi8
    positions = np.flatnonzero(~blank & ~is_num & ~bools)
    if len(positions):
        text = [v.strip() if isinstance(v, str) else v.isoformat() if isinstance(v, date) else ""
                for v in arr[positions]]
        aware = np.fromiter((_AWARE.search(t) is not None for t in text), dtype=bool, count=len(text))
        for group in (aware, ~aware):
            if group.any():
                batch = [t for t, g in zip(text, group, strict=True) if g]
                parsed = pd.DatetimeIndex(pd.to_datetime(batch, format="ISO8601", utc=True, errors="coerce"))
                nanos[positions[group]] = parsed.as_unit("ns").asi8
    out = pd.Series(nanos.view("datetime64[ns]"), index=values.index).dt.tz_localize("UTC")
    bad = ~blank & (nanos == np.iinfo(np.int64).min)
    return out, bad, hints


def parse_attributes(values: pd.Series) -> tuple[pd.Series, np.ndarray, dict[int, str]]:
    """Dicts from JSON-object text or dicts ({} for blanks); other JSON, or bad JSON, is invalid."""
    out: list[dict[str, Any]] = []
    bad = np.zeros(len(values), dtype=bool)
    hints: dict[int, str] = {}
    for i, v in enumerate(values.astype(object)):
        if isinstance(v, dict):
            out.append(v)
            continue
        if isinstance(v, list | np.ndarray) and all(isinstance(p, tuple) and len(p) == 2 for p in v):
            out.append(dict(v))  # a parquet map column arrives as (key, value) pairs
            continue
        if _blank(v):
            out.append({})
            continue
        try:
            parsed = json.loads(v) if isinstance(v, str) else v
        except json.JSONDecodeError as exc:
            hints[i] = f"is not valid JSON ({exc.msg} at character {exc.pos + 1})"
            parsed = None
        if isinstance(parsed, dict):
            out.append(parsed)
        else:
            bad[i] = True
            hints.setdefault(i, "must be a JSON object like {\"colour\": \"red\"}")
            out.append({})
    return pd.Series(out, index=values.index, dtype=object), bad, hints


def shown(value: Any, limit: int = 40) -> str:
    """A cell value quoted for a message, cut to ``limit`` characters."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text) if isinstance(value, str) else text
