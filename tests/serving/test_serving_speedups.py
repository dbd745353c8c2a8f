"""Group commit of events and the served state's response cache, on a real SQLite store."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shopsense.core.store import EventError, Store
from shopsense.serving.event_writer import EventWriter
from shopsense.serving.response_cache import ResponseCache


def _event(user: str, event_id: str | None = None, kind: str = "view") -> dict:
    return {"event_id": event_id or uuid.uuid4().hex, "user_id": user, "type": kind, "item_id": "toy_a"}


def test_concurrent_requests_share_commits_and_keep_their_own_answers(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    writer = EventWriter(store)
    real_append = store.append_events
    first_commit_started, release = threading.Event(), threading.Event()

    def gated(rows: list) -> list[str]:  # the first commit waits until every other request is queued
        if not first_commit_started.is_set():
            first_commit_started.set()
            release.wait(30)
        return real_append(rows)

    store.append_events = gated  # type: ignore[method-assign]
    shared_id = "dup-" + uuid.uuid4().hex
    requests = [[_event(f"u{n}") for _ in range(3)] for n in range(12)]
    requests[3].append(_event("u3", shared_id))
    requests[7].append(_event("u7", shared_id))  # the same id in two requests: stored once, for the first
    answers: dict[int, list[str] | BaseException] = {}

    def post(n: int, rows: list) -> None:
        try:
            answers[n] = writer.append(rows)
        except EventError as exc:
            answers[n] = exc

    first = threading.Thread(target=post, args=(0, requests[0]))
    first.start()
    assert first_commit_started.wait(30)
    others = [threading.Thread(target=post, args=(n, rows)) for n, rows in enumerate(requests[1:], 1)]
    for t in others:
        t.start()
    while len(writer._pending) < len(others):  # noqa: SLF001 - every request is waiting for the next commit
        threading.Event().wait(0.01)
    release.set()
    for t in [first, *others]:
        t.join(30)
    for n, rows in enumerate(requests):
        expected = [r["event_id"] for r in rows if not (n == 7 and r["event_id"] == shared_id)]
        assert answers[n] == expected, n
    assert len(store.events_since(None)) == sum(len(r) for r in requests) - 1
    assert writer.commits == 2  # the first request's, then the eleven that queued behind it, together
    store.close()


def test_a_refused_request_fails_alone(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        writer = EventWriter(store)
        batch = [[_event("u1")], [_event("u-bad", kind="teleport")], [_event("u2")]]
        from shopsense.serving import event_writer

        pending = [event_writer._Request(rows) for rows in batch]  # noqa: SLF001 - one batch, as if concurrent
        writer._commit(pending)  # noqa: SLF001
        assert isinstance(pending[1].error, EventError)
        assert pending[0].stored == [batch[0][0]["event_id"]] and pending[2].stored == [batch[2][0]["event_id"]]
        assert set(store.events_since(None)["user_id"]) == {"u1", "u2"}


def test_response_cache_is_bounded_and_a_clear_wins_over_a_build_in_flight() -> None:
    cache = ResponseCache(max_entries=3)
    for n in range(5):
        assert cache.get_or_build(("k", n), lambda n=n: f"body {n}".encode()) == f"body {n}".encode()
    assert len(cache) == 3 and cache.lookup(("k", 0))[0] is None and cache.lookup(("k", 4))[0] == b"body 4"
    body, epoch = cache.lookup(("personal", "u1"))
    assert body is None
    cache.clear()  # an erasure while the answer for u1 was being built
    cache.store(("personal", "u1"), b"u1's list", epoch)
    assert cache.lookup(("personal", "u1"))[0] is None



def test_concurrent_misses_of_one_key_share_one_build() -> None:
    import asyncio

    cache = ResponseCache()
    calls: list[str] = []

    async def run() -> None:
        release = asyncio.Event()

        async def build() -> bytes:
            calls.append("built")
            await release.wait()
            return b'{"items": []}'

        waiting = [asyncio.create_task(cache.get_or_build_once("q", build)) for _ in range(8)]
        await asyncio.sleep(0.01)
        release.set()
        assert await asyncio.gather(*waiting) == [b'{"items": []}'] * 8
        assert calls == ["built"] and await cache.get_or_build_once("q", build) == b'{"items": []}'

        async def broken() -> bytes:
            await asyncio.sleep(0.01)
            raise RuntimeError("index unavailable")

        failing = [asyncio.create_task(cache.get_or_build_once("bad", broken)) for _ in range(3)]
        results = await asyncio.gather(*failing, return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results)  # every waiter hears it; nothing is cached
        assert await cache.get_or_build_once("bad", build) == b'{"items": []}'

    # its own thread: a browser test's Playwright may hold an event loop in this one (same pytest worker)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(pytest.main([__file__, "-q"]))
