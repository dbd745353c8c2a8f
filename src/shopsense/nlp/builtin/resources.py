"""Reading the data files shipped in ``shopsense/nlp/data`` (JSONL utterance sets, gzipped CSVs).

A malformed shipped file is a packaging bug, but it still gets a clear error naming the file, line and
field (:class:`BuiltinDataError`) rather than a traceback from deep inside pandas or json.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from importlib import resources
from pathlib import Path

import pandas as pd

DATA_PACKAGE = "shopsense.nlp"
LANGS = ("en", "zh")
TEST_BUCKETS = 10  # one text in ten, by hash, is a held-out test text of a reference set


class BuiltinDataError(ValueError):
    """A shipped or reference data file that cannot be read; the message names file, line and field."""


def data_path(name: str) -> Path:
    """Path of a file in ``shopsense/nlp/data`` (it must exist)."""
    path = Path(str(resources.files(DATA_PACKAGE) / "data" / name))
    if not path.is_file():
        raise BuiltinDataError(f"{path}: shipped data file is missing (reinstall shopsense)")
    return path


def read_jsonl(path: Path | str, required: tuple[str, ...] = ("text", "label", "lang")) -> pd.DataFrame:
    """Rows of a JSONL utterance file; every row must hold non-empty strings for ``required``.

    ``lang`` (when required) must be one of ``en``/``zh``. Errors name ``file:line: field``.
    """
    path = Path(path)
    rows: list[dict[str, str]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BuiltinDataError(f"{path}:{number}:{exc.colno}: invalid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise BuiltinDataError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
            for field in required:
                value = row.get(field)
                if not isinstance(value, str) or not value.strip():
                    raise BuiltinDataError(f"{path}:{number}: field {field!r} must be a non-empty string")
            if "lang" in required and row["lang"] not in LANGS:
                raise BuiltinDataError(f"{path}:{number}: field 'lang' must be one of {LANGS}, "
                                       f"got {row['lang']!r}")
            rows.append({field: row[field].strip() for field in required})
    return pd.DataFrame(rows, columns=list(required))


_SPACE_RE = re.compile(r"\s+")


def normalise_key(text: str) -> str:
    """The form two utterances must share to count as duplicates (case, width and spacing folded)."""
    return _SPACE_RE.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


def drop_duplicate_texts(df: pd.DataFrame, text_col: str = "text") -> pd.DataFrame:
    """Keep the first row of each normalised text, so that no utterance lands in two splits."""
    keys = df[text_col].map(normalise_key)
    return df.loc[~keys.duplicated()].reset_index(drop=True)


def in_test_bucket(text: str) -> bool:
    """Whether a reference text is held out for testing: a stable hash of its normalised form, so the
    same text (in any case or spacing) always lands on the same side, whatever else is sampled."""
    digest = hashlib.md5(normalise_key(text).encode("utf-8"), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "big") % TEST_BUCKETS == 0


def cap_per_label(df: pd.DataFrame, cap: int, seed: int = 42, label_col: str = "label") -> pd.DataFrame:
    """At most ``cap`` rows per label, drawn at random (seeded), in their original order."""
    shuffled = df.sample(frac=1.0, random_state=seed)
    return shuffled[shuffled.groupby(label_col).cumcount() < cap].sort_index()
