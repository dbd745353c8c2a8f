"""The model registry: atomic publication, immutable numbered versions, aliases, promote and rollback."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shopsense.core.atomic import sha256_file
from shopsense.registry import NotFoundError, Registry, RegistryError


def publish_text(registry: Registry, model: str, text: str, **card: object) -> str:
    with registry.staging(model) as stage:
        (stage.path / "weights.txt").write_text(text, encoding="utf-8")
        (stage.path / "sub").mkdir()
        (stage.path / "sub" / "extra.bin").write_bytes(text.encode() * 3)
        stage.card = {"kind": "test", **card}
    assert stage.version is not None
    return stage.version.version


def test_publish_writes_version_with_card_and_checksums(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    version = publish_text(registry, "intent", "hello", accuracy=0.93)
    assert version == "v0001"
    mv = registry.get("intent", "latest")
    assert mv.path == tmp_path / "intent" / "v0001"
    assert mv.card["accuracy"] == 0.93 and mv.card["model"] == "intent" and mv.card["version"] == "v0001"
    assert set(mv.card["files"]) == {"weights.txt", "sub/extra.bin"}
    assert mv.card["files"]["weights.txt"]["sha256"] == sha256_file(mv.path / "weights.txt")
    assert mv.created_at.tzinfo is not None
    assert registry.models() == ["intent"]
    assert registry.verify("intent", "v0001") == []
    assert json.loads((tmp_path / "intent" / "aliases.json").read_text())["latest"] == "v0001"
    # nothing but the version, the aliases file and the lock: no staging directory left behind
    assert sorted(p.name for p in (tmp_path / "intent").iterdir()) == [".lock", "aliases.json", "v0001"]


def test_publish_with_build_callable(tmp_path: Path) -> None:
    registry = Registry(tmp_path)

    def build(directory: Path) -> dict:
        (directory / "model.npz").write_bytes(b"\x00\x01")
        return {"kind": "recommender", "params": {"k": 10}}

    mv = registry.publish("als", build)
    assert (mv.version, mv.card["params"]) == ("v0001", {"k": 10})
    assert (mv.path / "model.npz").read_bytes() == b"\x00\x01"


def test_versions_are_monotonic_and_never_reused(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    assert [publish_text(registry, "m", str(i)) for i in range(3)] == ["v0001", "v0002", "v0003"]
    # Even if someone deletes the newest version by hand, its number is not handed out again.
    import shutil

    os.chmod(tmp_path / "m" / "v0003", 0o755)
    shutil.rmtree(tmp_path / "m" / "v0003")
    assert publish_text(registry, "m", "again") == "v0004"
    assert registry.version_names("m") == ["v0001", "v0002", "v0004"]
    assert [v.version for v in registry.versions("m")] == ["v0001", "v0002", "v0004"]


def test_exception_inside_staging_publishes_nothing(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    with pytest.raises(RuntimeError, match="training diverged"):
        with registry.staging("intent") as stage:
            (stage.path / "half.bin").write_bytes(b"x" * 1000)
            raise RuntimeError("training diverged")
    assert registry.version_names("intent") == []
    assert registry.models() == []
    assert not list((tmp_path / "intent").glob(".tmp-*"))
    assert publish_text(registry, "intent", "ok") == "v0001"


def test_unserialisable_card_publishes_nothing(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        with registry.staging("m") as stage:
            (stage.path / "a.txt").write_text("a")
            stage.card = {"bad": object()}
    assert registry.version_names("m") == []


_KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from shopsense.registry import Registry
    registry = Registry(Path(sys.argv[1]))
    with registry.staging("intent") as stage:
        (stage.path / "weights.bin").write_bytes(b"w" * 1_000_000)
        stage.card = {"kind": "test"}
        print(stage.path, flush=True)
        time.sleep(120)
""")


def test_killed_writer_leaves_no_visible_version(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    publish_text(registry, "intent", "first")
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(tmp_path)], stdout=subprocess.PIPE,
                            text=True)
    try:
        staged = Path(proc.stdout.readline().strip())
        assert staged.name.startswith(".tmp-") and (staged / "weights.bin").exists()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert staged.exists()  # the dead writer's files are still on disk ...
    assert registry.version_names("intent") == ["v0001"]  # ... but no reader sees them
    assert registry.get("intent", "latest").version == "v0001"
    # The next writer cleans up after the dead one and takes the next number.
    assert publish_text(registry, "intent", "second") == "v0002"
    assert not staged.exists()


def test_published_versions_are_immutable(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    publish_text(registry, "m", "original")
    mv = registry.get("m", "latest")
    assert all(not (p.stat().st_mode & 0o222) for p in mv.path.rglob("*") if p.is_file())
    publish_text(registry, "m", "newer")
    assert (mv.path / "weights.txt").read_text() == "original"  # a new version never touches an old one
    # Tampering (possible for root despite the read-only bits) is detected against the card.
    os.chmod(mv.path / "weights.txt", 0o644)
    (mv.path / "weights.txt").write_text("changed")
    (mv.path / "stray.txt").write_text("x")
    problems = registry.verify("m", "v0001")
    assert any("weights.txt" in p and "sha256" in p for p in problems)
    assert any("stray.txt" in p for p in problems)
    with pytest.raises(RegistryError, match="card.json"):
        with registry.staging("m") as stage:
            (stage.path / "card.json").write_text("{}")


def test_promote_and_rollback_follow_the_history(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    for i in range(3):
        publish_text(registry, "intent", str(i))
    with pytest.raises(NotFoundError, match="no production version"):
        registry.get("intent")
    assert registry.production_version("intent") is None
    registry.promote("intent", "v0001")
    registry.promote("intent", "latest")
    registry.promote("intent", "2")
    registry.promote("intent", "2")  # promoting the current production again changes nothing
    assert registry.get("intent").version == "v0002"
    assert registry.rollback("intent").version == "v0003"
    assert registry.production_version("intent") == "v0003"
    assert registry.rollback("intent").version == "v0001"
    with pytest.raises(RegistryError, match="no earlier production version"):
        registry.rollback("intent")
    assert registry.get("intent", "production").version == "v0001"
    actions = [(h["action"], h["version"], h["previous"]) for h in registry.history("intent")]
    assert actions == [("promote", "v0001", None), ("promote", "v0003", "v0001"),
                       ("promote", "v0002", "v0003"), ("rollback", "v0003", "v0002"),
                       ("rollback", "v0001", "v0003")]
    aliases = registry.aliases("intent")
    assert (aliases["latest"], aliases["production"]) == ("v0003", "v0001")


def test_errors_name_what_exists(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    publish_text(registry, "intent", "x")
    with pytest.raises(NotFoundError, match=r"no model named 'sentiment'.*models: intent"):
        registry.get("sentiment", "latest")
    with pytest.raises(NotFoundError, match=r"no version 'v0009' \(versions: v0001"):
        registry.get("intent", "v0009")
    for bad in ("../etc", "", ".tmp-1", "a/b", "x" * 101):
        with pytest.raises(RegistryError, match="invalid model name"):
            registry.staging(bad).__enter__()


def _publish_many(root: str, worker: int) -> list[str]:
    registry = Registry(Path(root))
    return [publish_text(registry, "shared", f"{worker}-{i}") for i in range(4)]


def test_concurrent_writers_get_distinct_versions(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        results = pool.starmap(_publish_many, [(str(tmp_path), w) for w in range(3)])
    got = sorted(v for chunk in results for v in chunk)
    assert got == [f"v{i:04d}" for i in range(1, 13)]
    assert Registry(tmp_path).version_names("shared") == got
