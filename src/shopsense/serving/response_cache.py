"""Encoded answers of the read endpoints, kept per served state.

A list of recommendations, similar items or search results depends only on the request and on what is being
served (model versions, search index, catalog and store generation). The cache lives on the
:class:`~shopsense.serving.runtime.ServingState`, so a promotion, a reload or an import starts an empty one,
and an erasure clears it at once. Bounded (least recently used goes first) so that a client sending a
million distinct queries costs memory, not an outage.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable

MAX_ENTRIES = 20_000


class ResponseCache:
    """``key`` -> encoded response body (bytes); thread-safe, LRU-bounded."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._epoch = 0  # moved on by clear(): a build that began before it is not stored
        self.hits = self.misses = 0
        self._building: dict[Hashable, asyncio.Future[bytes]] = {}  # misses being answered (event loop only)

    def get_or_build(self, key: Hashable, build: Callable[[], bytes]) -> bytes:
        body, epoch = self.lookup(key)
        if body is None:
            body = build()  # outside the lock: two builds of one key at once are harmless, a held lock is not
            self.store(key, body, epoch)
        return body

    async def get_or_build_once(self, key: Hashable, build: Callable[[], Awaitable[bytes]]) -> bytes:
        """Like :meth:`get_or_build` for an ``async`` endpoint whose misses are slow (search runs the encoder):
        requests that miss the same key while it is being built wait for that one build instead of each
        running their own, so a burst of one popular query after a promotion costs one search, not eight."""
        body, epoch = self.lookup(key)
        if body is not None:
            return body
        pending = self._building.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._building[key] = future
        try:
            body = await build()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # the waiters (if any) raise it; nobody else must be told it went unread
            raise
        finally:
            del self._building[key]
        self.store(key, body, epoch)
        future.set_result(body)
        return body

    def lookup(self, key: Hashable) -> tuple[bytes | None, int]:
        """The cached body (or None) and the epoch to hand back to :meth:`store` with a fresh one."""
        with self._lock:
            body = self._entries.get(key)
            if body is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
            return body, self._epoch

    def store(self, key: Hashable, body: bytes, epoch: int) -> None:
        """Keep ``body`` unless the cache was cleared since its :meth:`lookup` (an erasure came between)."""
        with self._lock:
            if epoch != self._epoch:
                return
            self._entries[key] = body
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._epoch += 1

    def __len__(self) -> int:
        return len(self._entries)
