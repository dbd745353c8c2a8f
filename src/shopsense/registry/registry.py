"""The model registry: immutable, numbered versions of every trained model, with a card and aliases.

Layout under the registry root (``settings.artifacts_dir``)::

    <model>/
      v0001/            one published version: its files plus card.json (never changed afterwards)
      v0002/
      aliases.json      {"latest", "production", "promotions" (stack), "history" (log), "last_version"}
      .lock             taken while a version number is assigned or aliases change
      .tmp-<pid>-<id>/  a version being written; invisible to readers, removed when its writer is gone

A version is written into a ``.tmp-*`` directory, every file and directory is fsynced, ``card.json`` is
written last, and the directory is renamed to its version name in one atomic step. A failed or killed
writer therefore never leaves a partial version where readers look.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopsense.core.atomic import dumps, fsync_dir, fsync_tree, sha256_file, write_json_atomic

CARD_FILE = "card.json"
ALIASES_FILE = "aliases.json"
TMP_PREFIX = ".tmp-"
ALIASES = ("latest", "production")
_VERSION_RE = re.compile(r"^v(\d{4,})$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


class RegistryError(Exception):
    """A registry operation that cannot be done (bad name, no such version, nothing to roll back to)."""


class NotFoundError(RegistryError, LookupError):
    """The model, version or alias asked for does not exist."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ModelVersion:
    """One published, immutable version of a model: where its files are and what its card says."""

    model: str
    version: str
    path: Path
    card: dict[str, Any] = field(repr=False)
    created_at: dt.datetime

    @property
    def number(self) -> int:
        return version_number(self.version)

    def file(self, name: str) -> Path:
        """Path of one of the version's files (it must exist)."""
        path = self.path / name
        if not path.exists():
            raise NotFoundError(f"{self.model} {self.version} has no file {name!r}")
        return path


@dataclass
class Staging:
    """A version being written: put files under ``path`` and the card dict in ``card``."""

    model: str
    path: Path
    card: dict[str, Any] = field(default_factory=dict)
    version: ModelVersion | None = None


def version_number(version: str) -> int:
    match = _VERSION_RE.match(version)
    if not match:
        raise RegistryError(f"{version!r} is not a version name (expected v0001, v0002, ...)")
    return int(match.group(1))


def format_version(number: int) -> str:
    return f"v{number:04d}"


def check_model_name(model: str) -> str:
    """Return ``model`` if it is usable as a directory name; raise RegistryError saying why not."""
    if not isinstance(model, str) or not _NAME_RE.match(model) or model in (".", ".."):
        raise RegistryError(f"invalid model name {model!r}: use letters, digits, '_', '-', '.' "
                            "(starting with a letter or digit, at most 100 characters)")
    return model


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class Registry:
    """Versioned model artifacts under one root directory (``settings.artifacts_dir``).

    Publish with ``with registry.staging(model) as stage: ...`` or ``registry.publish(model, build)``;
    read with ``get(model, "production" | "latest" | "v0003")``; move the production alias with
    ``promote`` and ``rollback``. Safe for several processes: version numbers and alias changes are
    assigned under a file lock, and readers only ever see complete versions.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # ---- reading -------------------------------------------------------------------------------
    def models(self) -> list[str]:
        """Names of the models with at least one published version, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and _NAME_RE.match(p.name) and self.version_names(p.name))

    def version_names(self, model: str) -> list[str]:
        """Published version names of ``model``, oldest first (``.tmp-*`` directories never count)."""
        directory = self.root / check_model_name(model)
        if not directory.is_dir():
            return []
        names = [p.name for p in directory.iterdir()
                 if _VERSION_RE.match(p.name) and (p / CARD_FILE).is_file()]
        return sorted(names, key=version_number)

    def versions(self, model: str) -> list[ModelVersion]:
        """Every published version of ``model``, oldest first."""
        return [self._load(model, name) for name in self.version_names(model)]

    def aliases(self, model: str) -> dict[str, Any]:
        """The model's alias state: ``latest``, ``production``, ``promotions``, ``history``."""
        state = self._read_aliases(model)
        names = self.version_names(model)
        # The directory listing is the truth for "latest": a writer killed between its rename and its
        # aliases update has still published a complete version.
        state["latest"] = names[-1] if names else None
        return state

    def latest_version(self, model: str) -> str | None:
        names = self.version_names(model)
        return names[-1] if names else None

    def production_version(self, model: str) -> str | None:
        """The version the production alias points at (one small file read; cheap enough to poll)."""
        return self._read_aliases(model).get("production")

    def history(self, model: str) -> list[dict[str, Any]]:
        """Promotions and rollbacks, oldest first: ``{"action", "version", "previous", "at"}``."""
        return list(self._read_aliases(model).get("history", []))

    def resolve(self, model: str, ref: str = "production") -> str:
        """The version name ``ref`` stands for: an alias (``latest``, ``production``) or a version
        (``v0003``, ``3``). Raises NotFoundError, naming what exists, when there is no such version."""
        names = self.version_names(model)
        if not names:
            known = ", ".join(self.models()) or "none"
            raise NotFoundError(f"no model named {model!r} in the registry at {self.root} (models: {known})")
        ref = str(ref).strip()
        if ref == "latest":
            return names[-1]
        if ref == "production":
            version = self.production_version(model)
            if version is None:
                raise NotFoundError(f"{model} has no production version yet; promote one with `shopsense "
                                    f"models promote {model} VERSION` (versions: {', '.join(names)})")
            return version
        version = format_version(int(ref)) if ref.isdigit() else ref
        if version not in names:
            raise NotFoundError(f"{model} has no version {ref!r} (versions: {', '.join(names)}; "
                                f"aliases: {', '.join(ALIASES)})")
        return version

    def get(self, model: str, ref: str = "production") -> ModelVersion:
        """The version ``ref`` (alias or version name) of ``model``; see :meth:`resolve`."""
        return self._load(model, self.resolve(model, ref))

    def verify(self, model: str, ref: str = "latest") -> list[str]:
        """Check a version's files against the sha256 sums in its card; returns the problems found."""
        mv = self.get(model, ref)
        problems: list[str] = []
        listed = mv.card.get("files", {})
        for name, meta in listed.items():
            path = mv.path / name
            if not path.is_file():
                problems.append(f"{name}: missing")
            elif sha256_file(path) != meta.get("sha256"):
                problems.append(f"{name}: content changed since publication (sha256 differs)")
        for path in mv.path.rglob("*"):
            rel = path.relative_to(mv.path).as_posix()
            if path.is_file() and rel != CARD_FILE and rel not in listed:
                problems.append(f"{rel}: not part of the published version")
        return problems

    # ---- publishing ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def staging(self, model: str) -> Iterator[Staging]:
        """Write a new version: files go under ``stage.path``, the card dict into ``stage.card``.

        On a clean exit the version is published atomically and ``stage.version`` is set; on an
        exception the staging directory is deleted and nothing becomes visible.
        """
        directory = self.root / check_model_name(model)
        directory.mkdir(parents=True, exist_ok=True)
        self.cleanup(model)
        tmp = directory / f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        tmp.mkdir()
        stage = Staging(model=model, path=tmp)
        try:
            yield stage
            stage.version = self._commit(stage)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def publish(self, model: str, build: Callable[[Path], dict[str, Any]]) -> ModelVersion:
        """Publish a version whose files ``build(directory)`` writes; it returns the card dict."""
        with self.staging(model) as stage:
            stage.card = build(stage.path)
        assert stage.version is not None
        return stage.version

    def _commit(self, stage: Staging) -> ModelVersion:
        if not isinstance(stage.card, dict):
            raise RegistryError(f"the card must be a dict, not {type(stage.card).__name__}")
        if (stage.path / CARD_FILE).exists():
            raise RegistryError(f"{CARD_FILE} is written by the registry; put the card in stage.card")
        files = {}
        for path in sorted(stage.path.rglob("*")):
            if path.is_symlink():
                raise RegistryError(f"{path.relative_to(stage.path)}: symbolic links cannot be published")
            if path.is_file():
                files[path.relative_to(stage.path).as_posix()] = {"sha256": sha256_file(path),
                                                                  "bytes": path.stat().st_size}
        dumps(stage.card)  # fail before taking a version number if the card is not JSON-serialisable
        directory = stage.path.parent
        with self._lock(stage.model):
            state = self._read_aliases(stage.model)
            names = self.version_names(stage.model)
            last = max([int(state.get("last_version", 0))] + [version_number(n) for n in names])
            version = format_version(last + 1)
            created = _now()
            card = {**stage.card, "model": stage.model, "version": version, "created_at": created,
                    "files": files}
            with open(stage.path / CARD_FILE, "w", encoding="utf-8") as fh:
                fh.write(dumps(card))
                fh.flush()
                os.fsync(fh.fileno())
            fsync_tree(stage.path)
            final = directory / version
            os.rename(stage.path, final)  # the publication: atomic, the target does not exist
            fsync_dir(directory)
            _make_read_only(final)
            state.update(latest=version, last_version=last + 1)
            write_json_atomic(directory / ALIASES_FILE, state)
        return self._load(stage.model, version)

    def cleanup(self, model: str | None = None) -> int:
        """Delete staging directories left by writers that no longer run; returns how many."""
        removed = 0
        if model is not None:
            models = [check_model_name(model)]
        else:
            models = [p.name for p in self.root.iterdir() if p.is_dir()] if self.root.is_dir() else []
        for name in models:
            directory = self.root / name
            if not directory.is_dir():
                continue
            for tmp in directory.glob(f"{TMP_PREFIX}*"):
                pid_text = tmp.name[len(TMP_PREFIX):].split("-", 1)[0]
                pid = int(pid_text) if pid_text.isdigit() else None
                if pid is not None and (pid == os.getpid() or _pid_alive(pid)):
                    continue  # still being written (by this process or another live one)
                shutil.rmtree(tmp, ignore_errors=True)
                removed += 1
        return removed

    # ---- aliases -------------------------------------------------------------------------------
    def promote(self, model: str, ref: str) -> ModelVersion:
        """Point ``production`` at ``ref`` (a version or ``latest``); recorded so rollback can undo it."""
        with self._lock(model):
            version = self.resolve(model, ref)
            state = self._read_aliases(model)
            previous = state.get("production")
            if previous != version:
                state.setdefault("promotions", []).append(version)
                state["production"] = version
                state.setdefault("history", []).append(
                    {"action": "promote", "version": version, "previous": previous, "at": _now()})
                write_json_atomic(self.root / model / ALIASES_FILE, state)
        return self._load(model, version)

    def rollback(self, model: str) -> ModelVersion:
        """Point ``production`` back at the version promoted before the current one."""
        with self._lock(model):
            self.resolve(model, "latest")  # the model must exist
            state = self._read_aliases(model)
            published = set(self.version_names(model))
            stack = [v for v in state.get("promotions", []) if v in published]
            current = state.get("production")
            if current is None or len(stack) < 2:
                history = " -> ".join(stack) or "none"
                raise RegistryError(f"{model} has no earlier production version to roll back to "
                                    f"(production history: {history})")
            stack.pop()
            target = stack[-1]
            state.update(promotions=stack, production=target)
            state.setdefault("history", []).append(
                {"action": "rollback", "version": target, "previous": current, "at": _now()})
            write_json_atomic(self.root / model / ALIASES_FILE, state)
        return self._load(model, target)

    def retire(self, model: str, version: str, reason: str) -> None:
        """Delete a version for good (an erasure: it holds a user's data), so no rollback can serve it again.

        It leaves the promotion stack; when it was production, production moves back to the newest earlier
        promotion that still exists, or is cleared."""
        with self._lock(model):
            path = self.root / check_model_name(model) / version
            if not _VERSION_RE.match(version) or not path.is_dir():
                raise NotFoundError(f"{model} has no version {version}")
            state = self._read_aliases(model)
            for sub in [path, *path.rglob("*")]:
                os.chmod(sub, stat.S_IRWXU)
            shutil.rmtree(path)
            fsync_dir(path.parent)
            remaining = set(self.version_names(model))
            stack = [v for v in state.get("promotions", []) if v in remaining]
            previous = state.get("production")
            state["promotions"] = stack
            if previous == version:
                state["production"] = stack[-1] if stack else None
            state["history"] = [h for h in state.get("history", []) if h.get("version") != version]
            for entry in state["history"]:
                if entry.get("previous") == version:
                    entry["previous"] = None
            state["history"].append({"action": "retire", "version": version, "previous": previous,
                                     "reason": reason, "at": _now()})
            state["latest"] = max(remaining, key=version_number) if remaining else None
            write_json_atomic(self.root / model / ALIASES_FILE, state)

    # ---- internals -----------------------------------------------------------------------------
    def _read_aliases(self, model: str) -> dict[str, Any]:
        path = self.root / check_model_name(model) / ALIASES_FILE
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise RegistryError(f"{path}: unreadable aliases file ({exc})") from exc
        return state if isinstance(state, dict) else {}

    def _load(self, model: str, version: str) -> ModelVersion:
        path = self.root / model / version
        try:
            card = json.loads((path / CARD_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise NotFoundError(f"{model} has no version {version}") from exc
        except ValueError as exc:
            raise RegistryError(f"{path / CARD_FILE}: not valid JSON ({exc})") from exc
        created = dt.datetime.fromisoformat(card.get("created_at") or "1970-01-01T00:00:00+00:00")
        return ModelVersion(model=model, version=version, path=path, card=card, created_at=created)

    @contextlib.contextmanager
    def _lock(self, model: str) -> Iterator[None]:
        directory = self.root / check_model_name(model)
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / ".lock", "a+b") as fh:
            try:
                import fcntl
            except ImportError:  # not POSIX: single-writer use only
                yield
                return
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _make_read_only(root: Path) -> None:
    # Versions are immutable; read-only files stop accidental edits (root ignores the bits; `verify`
    # still catches changes through the sha256 sums in the card).
    read_only = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
    for path in root.rglob("*"):
        if path.is_file():
            os.chmod(path, read_only)
