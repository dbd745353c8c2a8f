"""Store policies written as Markdown (``policies/*.md``) turned into FAQ entries the assistant can cite.

Each ``## heading`` is a question and the text under it the answer. A file without ``##`` headings is
one entry, asked as its ``# title`` (or its file name) and answered by the whole text. Text above the
first ``##`` heading becomes an entry of its own, asked as the title. ``source`` is the file name;
``category`` the title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from shopsense.core.load_readers import RawTable, bad_byte_message, decode_utf8
from shopsense.core.load_tables import faq_id
from shopsense.core.records import TABLE_COLUMNS
from shopsense.core.validation import Problem, TableReport

_HEADING = re.compile(r"^(#{1,2})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass
class PolicyLoad:
    """FAQ rows read from policy files, with the file and line each came from."""

    frame: pd.DataFrame
    files: list[str]
    lines: list[int]
    problems: list[Problem] = field(default_factory=list)
    report: TableReport = field(default_factory=lambda: TableReport(table="policies", file="policies/*.md"))


def _sections(text: str) -> tuple[str, list[tuple[int, str, list[str]]]]:
    """(the ``#`` title, [(line, heading, body lines)]); text above the first ``##`` has heading ""."""
    title = ""
    sections: list[tuple[int, str, list[str]]] = [(1, "", [])]
    in_fence = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match and len(match.group(1)) == 1 and not title and len(sections) == 1 \
                and not "".join(sections[0][2]).strip():
            title = match.group(2)
            sections[0] = (number, "", [])
        elif match and len(match.group(1)) == 2:
            sections.append((number, match.group(2), []))
        else:
            sections[-1][2].append(line)
    return title, sections


def read_policy(path: Path, display: str) -> tuple[list[dict[str, str]], list[int], list[Problem]]:
    """FAQ rows of one Markdown file, the line of each, and the problems found."""
    raw = RawTable(file=display, table="faq")
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [], [], [Problem(display, None, None, f"cannot read file: {exc.strerror}", table="faq",
                                reason="unreadable file")]
    decoded = decode_utf8(data, raw)
    if decoded is None:
        return [], [], raw.problems
    text, bad = decoded
    if bad:
        return [], [], [Problem(display, b.line, None, bad_byte_message(b) + "; the file is not read",
                                table="faq", reason="not UTF-8") for b in bad]
    if not text.strip():
        return [], [], [Problem(display, None, None, "policy file is empty; it adds no FAQ entry",
                                severity="warning", table="faq", reason="empty file")]
    title, sections = _sections(text)
    topic = title or path.stem.replace("-", " ").replace("_", " ").capitalize()
    rows, lines, problems = [], [], []
    for line, heading, body in sections:
        answer = "\n".join(body).strip()
        if not heading and not answer:
            continue  # a title with nothing under it before the first ## is not an entry
        if not answer:
            problems.append(Problem(display, line, None, f"section {heading!r} has no text under it; it adds "
                                    "no FAQ entry", severity="warning", table="faq", reason="empty section"))
            continue
        question = heading or topic
        rows.append({"faq_id": faq_id(question, source=path.name), "question": question, "answer": answer,
                     "category": topic, "source": path.name})
        lines.append(line)
    return rows, lines, problems


def load_policies(folder: Path, display: str = "policies") -> PolicyLoad:
    """All ``*.md`` files of ``folder`` (sorted by name) as FAQ rows; a repeated heading is rejected."""
    rows: list[dict[str, str]] = []
    out = PolicyLoad(frame=pd.DataFrame(), files=[], lines=[])
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.md")):
        shown = f"{display}/{path.name}"
        got, at, found = read_policy(path, shown)
        out.problems += found
        for row, line in zip(got, at, strict=True):
            out.report.rows_read += 1
            if row["faq_id"] in seen:
                message = f"heading {row['question']!r} repeats {seen[row['faq_id']]}; section rejected"
                out.problems.append(Problem(shown, line, None, message, table="faq", reason="duplicate id"))
                out.report.reject("duplicate id")
                continue
            seen[row["faq_id"]] = f"{shown}:{line}"
            rows.append(row)
            out.files.append(shown)
            out.lines.append(line)
    out.frame = pd.DataFrame(rows, columns=list(TABLE_COLUMNS["faq"]), dtype=object)
    out.report.rows_kept = len(out.frame)
    return out
