"""The one erasure: :func:`erase_user` removes a user from everywhere a workspace keeps them.

Store tables and the event log (one transaction, SQLite ``secure_delete`` and a truncating WAL checkpoint),
the assistant's sessions and tickets, the opinion indexes and every in-memory cache (the store generation
moves on), the embedding-cache rows of their texts, and every registry version whose files hold their id or
their words: the models are retrained without them first (so something can still be served), then each such
version is retired (deleted; no rollback can bring it back). ``shopsense users erase`` and
``DELETE /v1/admin/users`` both call it; the API queues the retrain + retire step as a job that always runs.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shopsense.marketing.opinion_store import remove_cached_indexes
from shopsense.serving.pipeline import TrainOptions, train_all
from shopsense.text.encoder import forget_remembered_vectors

if TYPE_CHECKING:
    from shopsense.serving.workspace import Workspace

log = logging.getLogger(__name__)
_NEEDLE_CHARS = 48  # a review is found in a file by this much of its text (long enough to be unique)
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s*")


@dataclass
class ErasureReport:
    """What one erasure removed, per place."""

    user_id: str
    removed: dict[str, int] = field(default_factory=dict)
    retired: list[str] = field(default_factory=list)
    retrained: dict[str, Any] | None = None
    pending: bool = False
    texts: list[str] = field(default_factory=list, repr=False)  # kept for the pending model step; never shown

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "texts"}


def erase_user(workspace: Workspace, user_id: str, *, retrain: bool = True) -> ErasureReport:
    """Erase ``user_id`` everywhere (see module docstring). ``retrain=False`` leaves the model step to
    :func:`retire_user_models`, which the caller must then run (the API queues it as a job)."""

    texts = _user_texts(workspace, user_id)
    report = ErasureReport(user_id, texts=texts)
    report.removed.update(workspace.store.delete_user(user_id))
    report.removed.update(workspace.sessions().delete_user(user_id))
    workspace.store.checkpoint()
    if texts:  # the opinion indexes quote reviews: rebuilt without theirs
        report.removed["opinion_indexes"] = remove_cached_indexes(workspace.settings.cache_dir)
    report.removed["embedding_cache_rows"] = _forget_embeddings(workspace.settings.cache_dir, texts)
    forget_remembered_vectors()  # the in-memory vectors of recent chat messages may hold theirs
    workspace.store_changed()
    workspace.models.forget(user_id)
    if retrain:
        report.retrained, report.retired = retire_user_models(workspace, user_id, texts)
    else:
        report.pending = True
    return report


def user_needles(workspace: Workspace, user_id: str) -> list[str]:
    """What identifies the user's data inside a file: the id and a long piece of each of their reviews."""
    return _needles(user_id, _user_texts(workspace, user_id))


def retire_user_models(workspace: Workspace, user_id: str, texts: Iterable[str] | None = None,
                       ) -> tuple[dict[str, Any] | None, list[str]]:
    """Retrain what learned from the user (promoting the result), then retire every version that still holds
    them. Returns (the pipeline's result, the retired ``model version`` names)."""
    needles = _needles(user_id, texts if texts is not None else [])
    holding = _versions_holding(workspace, needles)
    retrained = None
    if holding:
        options = _options(workspace)
        try:
            retrained = train_all(workspace, options).as_dict()
        except ValueError as exc:  # e.g. the store no longer has anything to learn from
            log.warning("retraining after an erasure failed: %s", exc)
            retrained = {"error": str(exc)}
    retired = []
    for model, version in _versions_holding(workspace, needles):
        workspace.registry.retire(model, version, reason="erasure")
        retired.append(f"{model} {version}")
    workspace.models.load()
    return retrained, retired


def _options(workspace: Workspace) -> TrainOptions:
    return TrainOptions.of_latest(workspace.registry, promote=True, fold_in=False, opinions=False)


def _user_texts(workspace: Workspace, user_id: str) -> list[str]:
    data = workspace.data()
    reviews = data.reviews[data.reviews["user_id"].astype(str) == user_id] if len(data.reviews) else data.reviews
    texts = []
    for row in reviews.itertuples(index=False):
        for value in (getattr(row, "text", None), getattr(row, "title", None)):
            if isinstance(value, str) and value.strip():
                texts.append(value)
    return texts


def _needles(user_id: str, texts: Iterable[str]) -> list[bytes]:
    # A short id ("u1") is looked for only as a whole JSON string (else "u10" would match it); numpy stores
    # string arrays as UTF-32.
    found = {json.dumps(user_id).encode(), user_id.encode("utf-32-le")}
    if len(user_id) >= 8:
        found.add(user_id.encode())
    for text in texts:
        for sentence in [text, *_SENTENCE.split(text)]:
            piece = sentence.strip()[:_NEEDLE_CHARS]
            if len(piece) >= 20:
                found.add(piece.encode())
                found.add(json.dumps(piece).strip('"').encode())  # as JSON writes it (\\u escapes)
    return sorted(found)


def _versions_holding(workspace: Workspace, needles: list[bytes]) -> list[tuple[str, str]]:
    registry = workspace.registry
    out = []
    for model in registry.models():
        for version in registry.version_names(model):
            if _holds(registry.root / model / version, needles):
                out.append((model, version))
    return out


def _holds(directory: Path, needles: list[bytes]) -> bool:
    for path in directory.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(n in data for n in needles):
                return True
    return False


def _forget_embeddings(cache_dir: Path, texts: list[str]) -> int:
    """Delete the cached vectors of the user's texts and of their sentences (only hashes are stored)."""
    from shopsense.text.embedding_cache import EmbeddingCache

    if not texts or not (Path(cache_dir) / "embeddings.sqlite").exists():
        return 0
    variants = set()
    for text in texts:
        variants.add(text)
        variants.update(s.strip() for s in _SENTENCE.split(text) if s.strip())
    cache = EmbeddingCache(Path(cache_dir))
    try:
        return cache.forget(sorted(variants))
    finally:
        cache.close()
