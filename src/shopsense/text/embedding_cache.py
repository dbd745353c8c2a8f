"""A persistent embedding cache: one SQLite file per cache directory, rows keyed by (model id, text hash)."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model_id TEXT NOT NULL,
    text_hash BLOB NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model_id, text_hash)
) WITHOUT ROWID
"""
_CHUNK = 500  # SQLite limits the number of bound parameters per statement


def text_hash(text: str) -> bytes:
    """A 16-byte digest of the text; the key, so that cached text itself is never stored."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def _retry_while_locked(step: Callable[[], None], patience_s: float = 60.0) -> None:
    """Run ``step``, again while SQLite says the file is locked. Two processes opening a new cache at once
    (two server workers, two test workers) both want to turn on WAL: SQLite answers one of them "database is
    locked" at once, without waiting (its busy timeout does not cover that deadlock)."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class EmbeddingCache:
    """Vectors already computed, so re-training never re-encodes unchanged text.

    Only hashes of the texts are stored, never the texts, so the cache holds no personal data in clear.
    Writes are transactional; several processes may share one cache (WAL mode).
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "embeddings.sqlite"
        self._conn = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        _retry_while_locked(self._prepare)

    def _prepare(self) -> None:
        if self._conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(_SCHEMA)
        self._conn.commit()

    def get_many(self, model_id: str, texts: Sequence[str]) -> list[np.ndarray | None]:
        hashes = [text_hash(t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start:start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT text_hash, vector FROM embeddings WHERE model_id = ? AND text_hash IN ({marks})",
                [model_id, *chunk],
            )
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return [found.get(h) for h in hashes]

    def put_many(self, model_id: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        rows = [(model_id, text_hash(t), np.ascontiguousarray(v, dtype=np.float32).tobytes())
                for t, v in zip(texts, vectors, strict=True)]
        with self._conn:
            self._conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)", rows)

    def forget(self, texts: Sequence[str]) -> int:
        """Delete the vectors of ``texts`` under every model (an erasure); how many rows went."""
        hashes = list(dict.fromkeys(text_hash(t) for t in texts))
        removed = 0
        with self._conn:
            for start in range(0, len(hashes), _CHUNK):
                chunk = hashes[start:start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                removed += self._conn.execute(f"DELETE FROM embeddings WHERE text_hash IN ({marks})", chunk).rowcount
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])

    def close(self) -> None:
        self._conn.close()
