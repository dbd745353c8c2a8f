"""Durable, atomic file-system writes: the one place that writes to a temp name and renames into place.

A rename is atomic on POSIX file systems, but only durable once the file's data and the directory
holding the new name are flushed; these helpers do both, so that a crash or a ``kill -9`` leaves either
the old content or the new, never a torn file, and a failed write never leaves its temp file behind.

Files: :func:`write_bytes_atomic`, :func:`write_text_atomic`, :func:`write_json_atomic`, and
:func:`atomic_file` for writers that need a file name (``torch.onnx.export``, ``DataFrame.to_parquet``).
Directories: :func:`atomic_directory` yields a temp directory beside the target and renames it into
place when the block succeeds (an existing target is replaced, swapped out atomically where the OS can).

Temp names start with a dot and sit next to the target (``.<name>.<random>.tmp``), on the same file
system so that the rename is atomic. New files and directories get the permissions a plain ``open`` /
``mkdir`` would give (0o666 / 0o777 less the umask) unless ``mode`` says otherwise.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import errno
import hashlib
import json
import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["atomic_directory", "atomic_file", "dumps", "fsync_dir", "fsync_file", "fsync_tree",
           "json_default", "replace_directory", "sha256_file", "write_bytes_atomic", "write_json_atomic",
           "write_text_atomic"]


# ------------------------------------------------------------------ fsync and hashing
def fsync_file(path: Path) -> None:
    """Flush one file's data to disk."""
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
    """The hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------ JSON
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


# ------------------------------------------------------------------ files
def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def _new_temp_file(path: Path) -> Path:
    """Create an empty, exclusively-named temp file beside ``path`` (mode 0o666 less the umask)."""
    while True:
        tmp = _temp_name(path)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp


@contextmanager
def atomic_file(path: str | Path, *, mode: int | None = None, fsync: bool = True) -> Iterator[Path]:
    """Yield a temp file name beside ``path``; when the block succeeds it becomes ``path`` atomically.

    The temp file exists (empty) when the block starts; write it by name. On success it is fsynced, given
    ``mode`` if set, renamed over ``path`` and the directory fsynced. On any error, including
    ``KeyboardInterrupt``, the temp file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp_file(path)
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        if fsync:
            fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if fsync:
        fsync_dir(path.parent)


def write_bytes_atomic(path: str | Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` atomically: temp file beside it, fsync, rename, fsync the dir."""
    with atomic_file(path, mode=mode) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def write_text_atomic(path: str | Path, text: str, *, mode: int | None = None) -> None:
    """:func:`write_bytes_atomic` of ``text`` encoded as UTF-8."""
    write_bytes_atomic(path, text.encode("utf-8"), mode=mode)


def write_json_atomic(path: str | Path, value: Any, *, mode: int | None = None) -> None:
    """:func:`write_text_atomic` of :func:`dumps` (pretty JSON, NaN as null, numpy values converted)."""
    write_text_atomic(path, dumps(value), mode=mode)


# ------------------------------------------------------------------ directories
_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):  # no libc, or a glibc before 2.28
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):  # the file system cannot
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def replace_directory(source: str | Path, target: str | Path) -> None:
    """Move the finished directory ``source`` to ``target``, replacing whatever ``target`` is.

    A missing target is a plain rename. An existing one is swapped with ``source`` in one atomic step
    where the OS can (Linux), so readers see the old tree or the new, never neither; elsewhere it is
    moved aside, ``source`` renamed in, and the old one removed (restored if the rename fails). The old
    content is deleted afterwards either way.
    """
    source, target = Path(source), Path(target)
    if not os.path.lexists(target):
        try:
            os.rename(source, target)
        except OSError:
            if not os.path.lexists(target):
                raise
            # another writer put a target there meanwhile: replace it like any existing one
        else:
            fsync_dir(target.parent)
            return
    if _exchange(source, target):
        _remove(source)  # now holds the old content
    else:
        old = target.with_name(f".{target.name}.{secrets.token_hex(4)}.old")
        os.rename(target, old)
        try:
            os.rename(source, target)
        except BaseException:
            os.rename(old, target)
            raise
        _remove(old)
    fsync_dir(target.parent)


@contextmanager
def atomic_directory(path: str | Path, *, mode: int | None = None, fsync: bool = True) -> Iterator[Path]:
    """Yield a new, empty temp directory beside ``path``; when the block succeeds it becomes ``path``.

    Fill the yielded directory; on success every file and directory in it is fsynced, it gets ``mode``
    if set, and :func:`replace_directory` moves it into place (an existing ``path`` is replaced safely).
    On any error, including ``KeyboardInterrupt``, the temp directory is removed and ``path`` is left as
    it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = _temp_name(path)
        try:
            tmp.mkdir()  # 0o777 less the umask, like any new directory
            break
        except FileExistsError:
            continue
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        if fsync:
            fsync_tree(tmp)
        replace_directory(tmp, path)
    finally:
        if os.path.lexists(tmp):
            _remove(tmp)
