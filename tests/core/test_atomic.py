"""Atomic writes: the new content or the old, never half of one, and no temp file left behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from shopsense.core import atomic
from shopsense.core.atomic import (
    atomic_directory,
    atomic_file,
    replace_directory,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_files_are_written_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "f.bin"
    write_bytes_atomic(path, b"one")
    write_bytes_atomic(path, b"two")
    assert path.read_bytes() == b"two"
    write_text_atomic(tmp_path / "t.txt", "héllo 你好")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo 你好"
    write_json_atomic(tmp_path / "j.json", {"n": np.int64(3), "x": float("nan"), "p": tmp_path, "s": {2, 1}})
    assert json.loads((tmp_path / "j.json").read_text(encoding="utf-8")) == {
        "n": 3, "x": None, "p": str(tmp_path), "s": [1, 2]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep", "j.json", "t.txt"]


def test_modes(tmp_path: Path) -> None:
    write_bytes_atomic(tmp_path / "plain", b"x")
    assert (tmp_path / "plain").stat().st_mode & 0o777 == 0o666 & ~_umask()  # like open(..., "w")
    write_bytes_atomic(tmp_path / "shared", b"x", mode=0o640)
    assert (tmp_path / "shared").stat().st_mode & 0o777 == 0o640


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    write_text_atomic(path, "old")
    with pytest.raises(TypeError):
        write_json_atomic(path, {"bad": object()})
    with pytest.raises(RuntimeError), atomic_file(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    with pytest.raises(KeyboardInterrupt), atomic_file(path) as tmp:
        raise KeyboardInterrupt
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_atomic_file_gives_a_name_to_write_by(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    with atomic_file(path) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".model.onnx.") and tmp.exists()
        assert not path.exists()
        tmp.write_bytes(b"graph")
    assert path.read_bytes() == b"graph"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "move-aside"])
def test_atomic_directory_creates_and_replaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               exchange: bool) -> None:
    if not exchange:
        monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    target = tmp_path / "index"
    with atomic_directory(target) as tmp:
        assert tmp.is_dir() and tmp.parent == tmp_path and not target.exists()
        (tmp / "a.txt").write_text("1")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "b.txt").write_text("2")
    assert (target / "a.txt").read_text() == "1" and (target / "sub" / "b.txt").read_text() == "2"
    assert target.stat().st_mode & 0o777 == 0o777 & ~_umask()
    with atomic_directory(target) as tmp:
        (tmp / "c.txt").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["c.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["index"]


def test_a_failed_directory_keeps_the_old_one_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "index"
    with atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("old")
    with pytest.raises(ValueError), atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("new")
        raise ValueError("failed half-way")
    with pytest.raises(ValueError), atomic_directory(tmp_path / "never") as tmp:
        raise ValueError
    assert (target / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["index"]


def test_replace_directory_restores_the_old_one_when_the_move_fails(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    target, source = tmp_path / "index", tmp_path / "new"
    target.mkdir()
    (target / "a.txt").write_text("old")
    source.mkdir()
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    real_rename = os.rename

    def failing_rename(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(src) == source:
            raise OSError("disk full")
        real_rename(src, dst)

    monkeypatch.setattr(atomic.os, "rename", failing_rename)
    with pytest.raises(OSError, match="disk full"):
        replace_directory(source, target)
    assert (target / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index", "new"]


def test_replace_directory_over_an_existing_directory(tmp_path: Path) -> None:
    target, source = tmp_path / "index", tmp_path / "new"
    source.mkdir()
    (source / "ours").write_text("x")
    target.mkdir()
    (target / "theirs").write_text("y")
    replace_directory(source, target)
    assert [p.name for p in target.iterdir()] == ["ours"] and not source.exists()
