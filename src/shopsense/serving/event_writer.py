"""Group commit for the event log: concurrent requests share one transaction and one fsync.

Every accepted event is still committed (and, on SQLite, fsynced) before its request is answered. The first
request to arrive commits; requests arriving while it does wait and go into the next transaction together, so
the number of commits per second stays about the same while the events per commit grow with the load.
A request whose events the store refuses fails alone: the batch is then committed request by request.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shopsense.core.store import EventError, Store


@dataclass
class _Request:
    rows: list[Mapping[str, Any]]
    done: threading.Event = field(default_factory=threading.Event)
    stored: list[str] = field(default_factory=list)
    error: BaseException | None = None


class EventWriter:
    """``append(rows)`` -> the ids newly stored, like :meth:`Store.append_events`, committed in groups."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._pending: list[_Request] = []
        self._committing = False
        self.commits = 0

    def append(self, rows: list[Mapping[str, Any]]) -> list[str]:
        # every row gets its id here, so the ids the store reports can be handed back to their request
        request = _Request([r if r.get("event_id") else {**r, "event_id": uuid.uuid4().hex} for r in rows])
        with self._lock:
            self._pending.append(request)
            lead = not self._committing
            self._committing = True
        if lead:
            self._commit_pending()
        request.done.wait()
        if request.error is not None:
            raise request.error
        return request.stored

    def _commit_pending(self) -> None:
        while True:
            with self._lock:
                batch, self._pending = self._pending, []
                if not batch:
                    self._committing = False
                    return
            try:
                self._commit(batch)
            finally:
                for request in batch:
                    request.done.set()

    def _commit(self, batch: list[_Request]) -> None:
        try:
            new = set(self.store.append_events([row for request in batch for row in request.rows]))
            self.commits += 1
        except EventError as exc:
            if len(batch) == 1:
                batch[0].error = exc
                return
            for request in batch:  # find the bad one: each alone
                self._commit([request])
            return
        except BaseException as exc:  # noqa: BLE001 - every waiting request must hear about it
            for request in batch:
                request.error = exc
            return
        for request in batch:  # an id stored now belongs to the first request that sent it
            mine = [str(r["event_id"]) for r in request.rows if str(r.get("event_id")) in new]
            request.stored = list(dict.fromkeys(mine))
            new.difference_update(request.stored)

