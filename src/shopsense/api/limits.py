"""Per-client rate limits (token buckets) and a cap on concurrent generations.

Two bucket stores, chosen per limit on purpose:

- **shared** (chat, copy): the buckets live in the store's database, one compare-free ``UPDATE`` inside a
  write transaction per request, so every server process on the workspace counts against the same budget.
  These endpoints write to the database anyway (a chat turn saves its session), and they are the ones that
  spend a language model's tokens: an exact limit matters more than the write it costs.
- **per process** (search, recommendations, events): an in-memory bucket, no I/O on the hot path. With N
  workers a client may get up to N times the limit; these endpoints are cheap, the limit is against floods.

A rate is ``N/second|minute|hour|day`` (settings ``SHOPSENSE_*_RATE_LIMIT``; ``off`` disables one). Callers
with the admin key (the store's own backend) are not limited. Over the limit: 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Column, Float, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from shopsense.api.errors import ApiError
from shopsense.api.identity import Caller, get_caller
from shopsense.core.db import SQLITE_BEGIN_OPTION, create_tables
from shopsense.core.settings import Settings, parse_rate

SHARED = ("chat", "copy")
SLOT_WAIT_SECONDS = 20.0
_MAX_KEYS = 100_000
_FORGET_SECONDS = 2 * 86400  # a bucket untouched for longer than any period is full again

metadata = MetaData()
buckets_table = Table(
    "rate_buckets", metadata,
    Column("key", String(400), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("updated", Float, nullable=False),
)


def _refill(tokens: float, updated: float, now: float, count: int, period: int) -> float:
    return min(float(count), tokens + (now - updated) * count / period)


def _wait(tokens: float, count: int, period: int) -> float:
    """Seconds until the bucket holds one token again."""
    return (1 - tokens) * period / count


class MemoryBuckets:
    """Token buckets of this process."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, count: int, period: int) -> float:
        """0 when a token was taken, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            tokens, updated = self._buckets.get(key, (float(count), now))
            tokens = _refill(tokens, updated, now, count, period)
            if len(self._buckets) > _MAX_KEYS:  # full buckets carry no information: drop them
                self._buckets = {k: v for k, v in self._buckets.items() if v[0] < count}
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return _wait(tokens, count, period)
            self._buckets[key] = (tokens - 1, now)
            return 0.0


class StoreBuckets:
    """Token buckets in the store's database, shared by every process on it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(metadata, engine)

    def take(self, key: str, count: int, period: int) -> float:
        key = hashlib.sha256(key.encode()).hexdigest()  # client addresses are personal data: keep none
        for attempt in range(3):
            try:
                return self._take(key, count, period)
            except IntegrityError:  # another process created the bucket first
                if attempt == 2:
                    raise
        return 0.0

    def _take(self, key: str, count: int, period: int) -> float:
        now = time.time()
        options = {SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"}
        with self.engine.connect().execution_options(**options) as conn, conn.begin():
            query = select(buckets_table.c.tokens, buckets_table.c.updated).where(buckets_table.c.key == key)
            if conn.dialect.name != "sqlite":
                query = query.with_for_update()
            row = conn.execute(query).first()
            tokens = float(count) if row is None else _refill(row.tokens, row.updated, now, count, period)
            allowed = tokens >= 1
            left = tokens - 1 if allowed else tokens
            if row is None:
                conn.execute(delete(buckets_table).where(buckets_table.c.updated < now - _FORGET_SECONDS))
                conn.execute(insert(buckets_table).values(key=key, tokens=left, updated=now))
            else:
                conn.execute(update(buckets_table).where(buckets_table.c.key == key)
                             .values(tokens=left, updated=now))
        return 0.0 if allowed else _wait(tokens, count, period)


class Limits:
    """The app's limiters and generation slots (one per app; on ``app.state.limits``)."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.rates = {name: parse_rate(getattr(settings, f"{name}_rate_limit"))
                      for name in ("chat", "copy", "search", "recommend", "events")}
        self.memory = MemoryBuckets()
        self.shared = StoreBuckets(engine) if any(self.rates[n] for n in SHARED) else None
        self.slots = asyncio.Semaphore(settings.chat_concurrency)

    def check(self, name: str, key: str) -> None:
        rate = self.rates[name]
        if rate is None:
            return
        buckets = self.shared if name in SHARED else self.memory
        wait = buckets.take(f"{name}|{key}", *rate)
        if wait > 0:
            count, period = rate
            raise ApiError(429, f"too many {name} requests: the limit is {count} per {period} s per client; "
                           f"try again in {math.ceil(wait)} s", headers={"Retry-After": str(math.ceil(wait))})


def rate_limit(name: str) -> Callable[..., None]:
    """A dependency that spends one of the caller's ``name`` tokens (429 when there are none)."""

    async def dependency(request: Request, caller: Caller = Depends(get_caller)) -> None:  # noqa: B008
        await spend_token(request, name, caller)

    dependency.__name__ = f"{name}_rate_limit"
    return dependency


async def spend_token(request: Request, name: str, caller: Caller) -> None:
    """Spend one of ``caller``'s ``name`` tokens (429 when there are none; the admin key spends none)."""
    if caller.admin:
        return
    limits = request.app.state.limits
    if name in SHARED:  # a database write: off the event loop
        await run_in_threadpool(limits.check, name, caller.rate_key)
    else:
        limits.check(name, caller.rate_key)


chat_limit = rate_limit("chat")
copy_limit = rate_limit("copy")
search_limit = rate_limit("search")
recommend_limit = rate_limit("recommend")
events_limit = rate_limit("events")


@asynccontextmanager
async def generation_slot(request: Request) -> AsyncIterator[None]:
    """One of the process's ``chat_concurrency`` slots for a turn or a copy generation; 503 when none frees up
    within :data:`SLOT_WAIT_SECONDS`."""
    slots = request.app.state.limits.slots
    try:
        await asyncio.wait_for(slots.acquire(), SLOT_WAIT_SECONDS)
    except TimeoutError:
        raise ApiError(503, "the assistant is busy: try again in a few seconds",
                       headers={"Retry-After": "5"}) from None
    try:
        yield
    finally:
        slots.release()
