"""Reading one table file (CSV, JSONL, parquet) into raw cells, with exact line numbers.

Nothing is guessed: bytes that are not UTF-8 are reported with their line and byte offset (and the
rows holding them rejected), never decoded some other way. CSV is parsed with the stdlib ``csv``
module fed one physical line at a time, so a record's line is the line where it starts even when
quoted fields span several lines.
"""

from __future__ import annotations

import bisect
import csv
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from shopsense.core.validation import Problem, Severity

READ_FORMATS = (".csv", ".jsonl", ".parquet")
_SURROGATE = re.compile("[\udc80-\udcff]")
_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32", b"\xff\xfe": "UTF-16",
         b"\xfe\xff": "UTF-16"}
_FIELD_LIMIT = 1 << 30  # real descriptions run past the csv module's 128 KiB default
REENCODE = "re-encode the file as UTF-8 (for example: iconv -f WINDOWS-1252 -t UTF-8 in.csv > out.csv)"


@dataclass
class RawTable:
    """Cells of one file as read, before validation, and where each row came from.

    ``frame`` holds the records that parsed (columns named as in the file); ``lines`` their start
    line (None for parquet) and ``rows`` their 1-based record number. Records that could not be
    parsed are already counted in ``rows_read`` and ``rejected`` (reason -> count) and reported in
    ``problems``. ``fatal`` means the file as a whole could not be read.
    """

    file: str
    table: str
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    lines: np.ndarray | None = None
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    problems: list[Problem] = field(default_factory=list)
    rows_read: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    fatal: bool = False
    header_line: int | None = None

    def problem(self, line: int | None, column: str | None, message: str, reason: str = "",
                severity: Severity = "error", row: int | None = None) -> None:
        self.problems.append(Problem(file=self.file, line=line, column=column, message=message,
                                     severity=severity, table=self.table, row=row, reason=reason))

    def fail(self, line: int | None, message: str, reason: str = "unreadable file") -> RawTable:
        self.problem(line, None, message, reason)
        self.fatal = True
        return self


@dataclass
class _BadByte:
    line: int
    offset: int  # byte offset in the file
    column: int  # 1-based character position in the line
    byte: int


def decode_utf8(data: bytes, raw: RawTable) -> tuple[str, list[_BadByte]] | None:
    """The text of a file and its non-UTF-8 bytes (decoded as surrogates); None if unreadable."""
    for bom, name in _BOMS.items():
        if data.startswith(bom):
            raw.fail(1, f"file is {name}-encoded; {REENCODE.replace('WINDOWS-1252', name)}", "not UTF-8")
            return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a UTF-8 byte-order mark (Excel writes one) is harmless
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raw.fail(line, "file contains NUL bytes: it is binary or UTF-16, not UTF-8 text", "not UTF-8")
        return None
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    bad: list[_BadByte] = []
    offset = 0
    for number, chunk in enumerate(data.split(b"\n"), start=1):
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            column = len(chunk[: exc.start].decode("utf-8", "replace")) + 1
            bad.append(_BadByte(number, offset + exc.start, column, chunk[exc.start]))
        offset += len(chunk) + 1
    return data.decode("utf-8", "surrogateescape"), bad


def bad_byte_message(b: _BadByte) -> str:
    return (f"byte 0x{b.byte:02X} at byte offset {b.offset} (line {b.line}, character {b.column}) is not "
            f"UTF-8; {REENCODE}")


def _physical_lines(text: str) -> list[str]:
    """Lines ending in "\\n" (a lone "\\r" inside a field is data, not a line end)."""
    sep = "\n" if "\n" in text or "\r" not in text else "\r"  # classic Mac files end lines with \r
    lines = [line + sep for line in text.split(sep)]
    if lines:
        lines[-1] = lines[-1][:-1]
        if not lines[-1]:
            lines.pop()
    return lines


def read_csv_text(text: str, bad: list[_BadByte], raw: RawTable) -> RawTable:
    """Parse CSV text into ``raw``: header on line 1, one row per record, bad records rejected."""
    lines = _physical_lines(text)
    bad_lines = [b.line for b in bad]
    old_limit = csv.field_size_limit(_FIELD_LIMIT)
    try:
        reader = csv.reader(iter(lines), strict=True)
        header: list[str] | None = None
        records: list[list[str]] = []
        starts: list[int] = []
        numbers: list[int] = []
        record_no = 0
        last = 0
        while True:
            start = last + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                end, last = reader.line_num, reader.line_num
                if header is None:
                    return raw.fail(start, f"header is not valid CSV: {exc}", "malformed line")
                record_no += 1
                raw.rows_read += 1
                raw.rejected["malformed line"] += 1
                raw.problem(start, None, _csv_error(str(exc), start, end), "malformed line", row=record_no)
                continue
            last = reader.line_num
            if not cells:
                continue  # a blank line is not a record
            if header is None:
                if bad and bad_lines[0] <= last:
                    return raw.fail(bad[0].line, f"header: {bad_byte_message(bad[0])}", "not UTF-8")
                header = cells
                raw.header_line = start
                continue
            record_no += 1
            raw.rows_read += 1
            if len(cells) != len(header):
                hint = " (unterminated quote?)" if last > start else " (truncated line?)" if \
                    len(cells) < len(header) else " (unquoted comma in a value?)"
                where = f" (record spans lines {start}-{last})" if last > start else ""
                raw.rejected["malformed line"] += 1
                raw.problem(start, None, f"expected {len(header)} fields, found {len(cells)}{where}{hint}",
                            "malformed line", row=record_no)
                continue
            if bad:
                hit = _first_bad(bad, bad_lines, start, last)
                if hit is not None:
                    column = next((header[j] for j, c in enumerate(cells) if _SURROGATE.search(c)), None)
                    raw.rejected["not UTF-8"] += 1
                    raw.problem(hit.line, column, bad_byte_message(hit), "not UTF-8", row=record_no)
                    continue
            records.append(cells)
            starts.append(start)
            numbers.append(record_no)
    finally:
        csv.field_size_limit(old_limit)
    if header is None:
        return raw.fail(1, "file has no header line (it is blank)", "empty file")
    raw.frame = pd.DataFrame(records, columns=_header_names(header, raw), dtype=object) if records else \
        pd.DataFrame({c: pd.Series(dtype=object) for c in _header_names(header, raw)})
    raw.lines = np.asarray(starts, dtype=np.int64)
    raw.rows = np.asarray(numbers, dtype=np.int64)
    return raw


def _first_bad(bad: list[_BadByte], bad_lines: list[int], start: int, end: int) -> _BadByte | None:
    k = bisect.bisect_left(bad_lines, start)
    return bad[k] if k < len(bad) and bad_lines[k] <= end else None


def _csv_error(message: str, start: int, end: int) -> str:
    if "unexpected end of data" in message:
        return f"unterminated quoted field starting on line {start} (runs to the end of the file)"
    if "new-line character seen in unquoted field" in message:
        message = "a carriage return (\\r) inside an unquoted field; quote the field or remove the \\r"
    detail = f" (detected on line {end})" if end != start else ""
    return f"malformed CSV: {message}{detail}"


def _header_names(header: list[str], raw: RawTable) -> list[str]:
    """Column names stripped; blank names become ``unnamed_N``; a repeated name is an error."""
    names: list[str] = []
    for j, name in enumerate(header, start=1):
        name = name.strip()
        if not name:
            name = f"unnamed_{j}"
            raw.problem(raw.header_line, name, f"column {j} has no name in the header; kept as {name!r}",
                        severity="warning")
        if name in names:
            raw.problem(raw.header_line, name, f"column {name!r} appears twice in the header; the second "
                        f"(column {j}) is kept as {name + f'_{j}'!r}", severity="warning")
            name = f"{name}_{j}"
        names.append(name)
    return names


def read_jsonl_text(text: str, bad: list[_BadByte], raw: RawTable) -> RawTable:
    """Parse JSON Lines: one object per line; blank lines skipped; each bad line rejected."""
    numbered = [(number, line) for number, line in enumerate(text.split("\n"), start=1) if line.strip()]
    if not bad:
        # Fast path: one parse for the whole file. It only counts if every line held exactly one object;
        # otherwise the line-by-line pass below finds and reports the bad lines.
        try:
            values = json.loads("[" + ",".join(line for _, line in numbered) + "]")
        except (json.JSONDecodeError, RecursionError):
            values = None
        if values is not None and len(values) == len(numbered) and all(type(v) is dict for v in values):
            raw.rows_read = len(values)
            return _jsonl_frame(raw, values, [n for n, _ in numbered], list(range(1, len(values) + 1)))
    bad_by_line = {b.line: b for b in bad}
    records: list[dict] = []
    starts: list[int] = []
    numbers: list[int] = []
    record_no = 0
    for number, line in numbered:
        record_no += 1
        raw.rows_read += 1
        if number in bad_by_line:
            raw.rejected["not UTF-8"] += 1
            raw.problem(number, None, bad_byte_message(bad_by_line[number]), "not UTF-8", row=record_no)
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raw.rejected["malformed line"] += 1
            cut = "" if line.rstrip().endswith("}") else "; the line looks truncated"
            at = "" if exc.msg.endswith(" at") else " at"
            raw.problem(number, None, f"not valid JSON: {exc.msg}{at} character {exc.colno}{cut}",
                        "malformed line", row=record_no)
            continue
        if not isinstance(value, dict):
            raw.rejected["malformed line"] += 1
            raw.problem(number, None, f"expected a JSON object {{...}}, found {type(value).__name__}",
                        "malformed line", row=record_no)
            continue
        records.append(value)
        starts.append(number)
        numbers.append(record_no)
    return _jsonl_frame(raw, records, starts, numbers)


def _jsonl_frame(raw: RawTable, records: list[dict], starts: list[int], numbers: list[int]) -> RawTable:
    raw.frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    raw.frame.columns = [str(c).strip() for c in raw.frame.columns]
    raw.lines = np.asarray(starts, dtype=np.int64)
    raw.rows = np.asarray(numbers, dtype=np.int64)
    return raw


def read_parquet_file(path: Path, raw: RawTable) -> RawTable:
    """Read a parquet file; a file pyarrow cannot open is one error."""
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types; all mean "not readable parquet"
        return raw.fail(None, f"cannot read parquet file: {exc}")
    raw.frame = frame.reset_index(drop=True)
    raw.frame.columns = [str(c).strip() for c in raw.frame.columns]
    raw.rows_read = len(frame)
    raw.rows = np.arange(1, len(frame) + 1, dtype=np.int64)
    raw.lines = None
    return raw


def read_raw(path: Path, table: str, display: str) -> RawTable:
    """Read one table file by its suffix into a :class:`RawTable` (never raises for bad content)."""
    raw = RawTable(file=display, table=table)
    suffix = path.suffix.lower()
    if suffix not in READ_FORMATS:
        return raw.fail(None, f"unsupported format {suffix!r}; use .csv, .jsonl or .parquet")
    try:
        size = path.stat().st_size
    except OSError as exc:
        return raw.fail(None, f"cannot read file: {exc.strerror}")
    if size == 0:
        return raw.fail(None, "file is empty (0 bytes)", "empty file")
    if suffix == ".parquet":
        return read_parquet_file(path, raw)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return raw.fail(None, f"cannot read file: {exc.strerror}")
    decoded = decode_utf8(data, raw)
    if decoded is None:
        return raw
    text, bad = decoded
    if not text.strip():
        return raw.fail(1, "file holds only blank lines", "empty file")
    return read_csv_text(text, bad, raw) if suffix == ".csv" else read_jsonl_text(text, bad, raw)
