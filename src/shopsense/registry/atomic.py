"""Durable, atomic file-system writes: fsync files and directories, write JSON by temp file + rename.

A rename is atomic on POSIX file systems, but only durable once the file's data and the directory
holding the new name are flushed; these helpers do both so that a crash or a ``kill -9`` leaves either
the old content or the new, never a torn file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries (new names, renames) to disk; a no-op where the OS cannot."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # Windows cannot open directories; its renames are journaled instead
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every file under ``root``, then every directory, deepest first."""
    dirs: list[Path] = []
    for current, _subdirs, files in os.walk(root):
        dirs.append(Path(current))
        for name in files:
            path = Path(current) / name
            if not path.is_symlink():
                fsync_file(path)
    for directory in reversed(dirs):
        fsync_dir(directory)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def json_default(value: Any) -> Any:
    """Make numpy scalars/arrays, paths, datetimes and sets JSON-serialisable; anything else is an error."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"value of type {type(value).__name__} is not JSON-serialisable: {value!r:.80}")


def _finite(value: Any) -> Any:
    # JSON has no NaN/Infinity; an undefined metric is written as null rather than as invalid JSON.
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """Pretty JSON (UTF-8 kept readable); NaN/inf become null; numpy values and paths converted."""
    text = json.dumps(_finite(value), indent=2, ensure_ascii=False, default=json_default, allow_nan=False)
    return text + "\n"


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: temp file beside it, fsync, rename, fsync the dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, value: Any) -> None:
    write_text_atomic(path, dumps(value))
