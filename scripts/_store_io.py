"""Writing store directories: deterministic CSV bytes and an all-or-nothing directory swap.

Shared by build_demo_store.py and build_benchmark_stores.py (build-time only, not product code).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd


def iso(ts: datetime) -> str:
    """ISO-8601 UTC with a Z, second precision: the one timestamp spelling of the generated stores."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_from_unix(seconds: int) -> str:
    return iso(datetime.fromtimestamp(int(seconds), tz=UTC))


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV, "\\n" line ends, minimal quoting, values written as given (callers format numbers)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(frame.columns)
    for row in frame.itertuples(index=False):
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue().encode("utf-8")


def write_tree(files: dict[str, bytes], out: Path) -> None:
    """Write all files into a sibling temp dir, then swap it in: a failed build never leaves half a store."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a store directory is data readable by all
    try:
        for name, data in files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
        os.replace(staging, out)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
