"""Validating one table read from a file: columns, types, ranges, blanks, duplicates, generated ids.

:func:`validate_table` turns a :class:`~shopsense.core.load_readers.RawTable` into a :class:`TableLoad`:
the kept rows with canonical columns and dtypes (extra columns kept as read), the problems, and the
row accounting. Checks that need other tables (unknown items) run later, in the store loader.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopsense.core.load_readers import RawTable
from shopsense.core.records import (
    DEFAULT_EVENT,
    INTERACTION_EVENTS,
    RATING_MAX,
    RATING_MIN,
    REQUIRED_COLUMNS,
    TABLE_COLUMNS,
    empty_table,
)
from shopsense.core.validation import (
    Problem,
    RowChecker,
    Severity,
    TableReport,
    is_blank,
    parse_attributes,
    parse_numbers,
    parse_text,
    parse_timestamps,
    shown,
)

ID_COLUMNS = frozenset({"item_id", "user_id", "order_id", "review_id", "faq_id"})
TIMESTAMP_COLUMNS = {"interactions": ("timestamp",), "reviews": ("timestamp",),
                     "orders": ("created_at", "updated_at")}
UNIQUE_KEYS: dict[str, tuple[str, ...]] = {
    "items": ("item_id",), "reviews": ("review_id",), "faq": ("faq_id",), "orders": ("order_id", "item_id"),
    "users": ("user_id",),
}
ISO_HINT = "is not an ISO-8601 time (2024-05-01T12:00:00Z) or unix seconds"

_STARS = f"{RATING_MIN}-{RATING_MAX}"


@dataclass
class TableLoad:
    """One validated table: kept rows (canonical columns first), where each came from, problems, counts."""

    name: str
    file: str
    frame: pd.DataFrame
    lines: np.ndarray | None
    rows: np.ndarray
    problems: list[Problem]
    report: TableReport
    usable: bool = True  # False when the file or its columns were unusable (every row rejected)
    rejected_ids: dict[str, Problem] = field(default_factory=dict)  # items: id -> first rejection

    def drop(self, mask: np.ndarray, column: str, reason: str, message: list[str]) -> None:
        """Reject more kept rows (cross-table checks); ``message`` has one text per masked row."""
        checker = RowChecker(self.name, self.file, self.lines, self.rows)
        texts = iter(message)
        checker.flag(mask, column, reason, lambda _i: next(texts))
        self.problems.extend(checker.problems)
        keep = ~np.asarray(mask, dtype=bool)
        self.frame = self.frame[keep].reset_index(drop=True)
        self.lines = None if self.lines is None else self.lines[keep]
        self.rows = self.rows[keep]
        self.report.reject(reason, int((~keep).sum()))
        self.report.rows_kept = len(self.frame)


def short_hash(*parts: str, length: int = 16) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:length]


def validate_table(raw: RawTable, name: str) -> TableLoad:
    """Check and convert the cells of ``raw`` as table ``name``; every rejected row is reported."""
    report = TableReport(table=name, file=raw.file, rows_read=raw.rows_read)
    for reason, n in raw.rejected.items():
        report.reject(reason, n)
    problems = list(raw.problems)
    load = TableLoad(name, raw.file, empty_table(name), raw.lines, raw.rows, problems, report)
    if raw.fatal:
        load.usable = False
        return load
    frame = raw.frame
    if len(frame.columns) == 0 and report.rows_read > 0:
        load.usable = False  # JSON Lines where no line parsed: each one is already reported
        return load
    missing = [c for c in REQUIRED_COLUMNS[name] if c not in frame.columns]
    if missing:
        # Every row is rejected: without a required column no row of the table can be used.
        have = ", ".join(map(str, frame.columns)) or "none"
        for col in missing:
            near = [str(c) for c in frame.columns if str(c).lower().replace(" ", "_") == col]
            hint = f"; found {near[0]!r}: names are lower case" if near else ""
            problems.append(Problem(raw.file, raw.header_line, col, f"missing required column {col!r} "
                                    f"(columns found: {have}{hint}); every row of this file is rejected",
                                    table=name, reason="missing column"))
        report.reject("missing column", len(frame))
        load.usable = False
        return load
    if len(frame) == 0 and report.rows_read == 0:
        severity: Severity = "error" if name == "items" else "warning"
        problems.append(Problem(raw.file, raw.header_line, None, "file has no data rows",
                                severity=severity, table=name, reason="empty file"))
        report.rows_kept = 0
        return load

    check = RowChecker(name, raw.file, raw.lines, raw.rows)
    out = _convert(frame, name, check)
    _require_values(out, frame, name, check)
    generated = _generate_ids(out, name, raw.file)
    _duplicates(out, name, check, generated)

    keep = ~check.rejected
    problems.extend(check.problems)
    if name == "items":
        first_by_row: dict[int, Problem] = {}
        for p in check.problems:
            if p.severity == "error" and p.row is not None:
                first_by_row.setdefault(p.row, p)
        for i in np.flatnonzero(check.rejected):
            item_id = out["item_id"].iat[i]
            if item_id and item_id not in load.rejected_ids:
                load.rejected_ids[item_id] = first_by_row[int(raw.rows[i])]
    for reason, n in pd.Series(check.reason[check.rejected]).value_counts().items():
        report.reject(str(reason), int(n))
    load.frame = out[keep].reset_index(drop=True)
    load.lines = None if raw.lines is None else raw.lines[keep]
    load.rows = raw.rows[keep]
    report.rows_kept = len(load.frame)
    return load


def _convert(frame: pd.DataFrame, name: str, check: RowChecker) -> pd.DataFrame:
    """Canonical columns with their dtypes (optional ones added empty), then the extra columns as read."""
    n = len(frame)
    out: dict[str, pd.Series] = {}
    index = pd.RangeIndex(n)
    frame = frame.reset_index(drop=True)
    for col in TABLE_COLUMNS[name]:
        present = col in frame.columns
        values = frame[col] if present else pd.Series([None] * n, index=index, dtype=object)
        if col in TIMESTAMP_COLUMNS.get(name, ()):
            parsed, bad, hints = parse_timestamps(values)
            check.flag(bad, col, "bad timestamp",
                       lambda i, v=values, h=hints, c=col: f"{c} {shown(v.iat[i])} {h.get(i, ISO_HINT)}")
        elif (name, col) in (("items", "price"), ("interactions", "value")):
            parsed, bad = parse_numbers(values)
            label = "price" if col == "price" else "value"
            check.flag(bad, col, f"bad {label}",
                       lambda i, v=values, c=col: f"{c} {shown(v.iat[i])} is not a number")
            if col == "price":
                negative = (parsed < 0).to_numpy()
                check.flag(negative, col, "bad price", lambda i, p=parsed: f"price {p.iat[i]:g} is negative")
        elif (name, col) == ("reviews", "rating"):
            parsed = _ratings(values, check)
        elif (name, col) == ("items", "attributes"):
            parsed, bad, hints = parse_attributes(values)
            check.flag(bad, col, "bad attributes",
                       lambda i, v=values, h=hints: f"attributes {shown(v.iat[i])} {h[i]}")
        else:
            parsed, bad = parse_text(values, strip=col in ID_COLUMNS)
            check.flag(bad, col, f"bad {col}",
                       lambda i, v=values, c=col: f"{c} must be text, found {shown(v.iat[i])}")
            if (name, col) == ("interactions", "event"):
                parsed = _events(parsed, check)
        out[col] = parsed.reset_index(drop=True)
    for col in frame.columns:
        if col not in out:
            out[col] = frame[col].reset_index(drop=True)
    return pd.DataFrame(out, index=index)


def _ratings(values: pd.Series, check: RowChecker) -> pd.Series:
    numbers, bad = parse_numbers(values)
    check.flag(bad, "rating", "bad rating", lambda i: f"rating {shown(values.iat[i])} is not a number {_STARS}")
    whole = numbers.isna() | (numbers == np.floor(numbers))
    check.flag(~whole.to_numpy(), "rating", "bad rating",
               lambda i: f"rating {numbers.iat[i]:g} is not a whole number {_STARS}")
    outside = (whole & numbers.notna() & ((numbers < RATING_MIN) | (numbers > RATING_MAX))).to_numpy()
    check.flag(outside, "rating", "bad rating", lambda i: f"rating {numbers.iat[i]:g} is outside {_STARS}")
    # Rejected rows are dropped before anyone reads the column, so a placeholder 0 never escapes.
    usable = numbers.notna() & whole & ~pd.Series(outside)
    return numbers.where(usable, 0).astype("int64")


def _events(events: pd.Series, check: RowChecker) -> pd.Series:
    normalised = events.str.strip().str.lower().replace("", DEFAULT_EVENT)
    unknown = ~normalised.isin(INTERACTION_EVENTS).to_numpy()
    allowed = ", ".join(INTERACTION_EVENTS)
    check.flag(unknown, "event", "unknown event",
               lambda i: f"event {shown(events.iat[i])} is not one of {allowed} (blank means {DEFAULT_EVENT})")
    return normalised


def _require_values(out: pd.DataFrame, frame: pd.DataFrame, name: str, check: RowChecker) -> None:
    """A required column may not have blank cells (review text may be blank when a title is given)."""
    for col in REQUIRED_COLUMNS[name]:
        blank = is_blank(frame[col].reset_index(drop=True))
        if (name, col) == ("reviews", "text"):
            blank &= is_blank(out["title"])
        check.flag(blank, col, "missing value", lambda _i, c=col: f"required value {c!r} is blank")


def _generate_ids(out: pd.DataFrame, name: str, source: str) -> np.ndarray:
    """Stable ids for reviews and FAQ entries that have none (the same row always gets the same id).

    A FAQ entry without a ``source`` gets the name of its file.

    Returns the mask of rows whose id was generated.
    """
    blank = np.zeros(len(out), dtype=bool)
    if name == "reviews":
        blank = (out["review_id"] == "").to_numpy()
        if blank.any():
            stamp = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").fillna("")
            out.loc[blank, "review_id"] = [
                "rev-" + short_hash(u, i, t, x)
                for u, i, t, x in zip(out["user_id"][blank], out["item_id"][blank], stamp[blank],
                                      out["text"][blank], strict=True)]
    elif name == "faq":
        out.loc[out["source"] == "", "source"] = source  # where the entry came from, for citations
        blank = (out["faq_id"] == "").to_numpy()
        if blank.any():
            out.loc[blank, "faq_id"] = [faq_id(q) for q in out["question"][blank]]
    return blank


def faq_id(question: str, source: str = "") -> str:
    """The id of a FAQ entry without one: from its question (and source file), case and spacing ignored."""
    key = " ".join(question.split()).casefold()
    return "faq-" + short_hash(source, key, length=12)


def _duplicates(out: pd.DataFrame, name: str, check: RowChecker, generated: np.ndarray) -> None:
    """A later row repeating the key of an earlier kept row is rejected, naming where the first one is."""
    key = UNIQUE_KEYS.get(name)
    if not key:
        return
    alive = ~check.rejected
    sub = out.loc[alive, list(key)]
    dup = sub.duplicated(keep="first")
    if not dup.any():
        return
    first_pos = {}
    positions = np.flatnonzero(alive)
    for pos, k in zip(positions, map(tuple, sub.to_numpy()), strict=True):
        first_pos.setdefault(k, pos)
    mask = np.zeros(len(out), dtype=bool)
    mask[positions[dup.to_numpy()]] = True

    def message(i: int) -> str:
        k = tuple(out.loc[i, list(key)])
        j = first_pos[k]
        where = f"line {check.lines[j]}" if check.lines is not None else f"row {check.rows[j]}"
        shown_key = " + ".join(f"{c} {v!r}" for c, v in zip(key, k, strict=True))
        if generated[i] and name == "reviews":
            what = "same user, item, time and text as the review on"
        elif generated[i]:
            what = "same question as"
        else:
            what = "already used on"
        return f"duplicate {shown_key}: {what} {where}"

    check.flag(mask, ",".join(key) if len(key) > 1 else key[0], "duplicate id", message)
