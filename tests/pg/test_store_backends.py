"""The store on SQLite and on a real PostgreSQL server: the same round trip, idempotent and transactional
import, event log and erasure (``db_url`` runs each test on both)."""

from __future__ import annotations

import threading
import uuid

import numpy as np
import pandas as pd
import pytest

from shopsense.core.loaders import load_store_dir_strict
from shopsense.core.preprocess import prepare_store
from shopsense.core.records import StoreData
from shopsense.core.store import EventError, Store, StoreImportError
from shopsense.data import demo_store_path


@pytest.fixture(scope="module")
def demo() -> StoreData:
    """The bundled demo store as ``shopsense import`` writes it (loaded, cleaned, masked, de-duplicated)."""
    return prepare_store(load_store_dir_strict(demo_store_path()))[0]


@pytest.fixture()
def store(db_url: str) -> Store:
    with Store(db_url) as s:
        yield s


def assert_same(a: StoreData, b: StoreData) -> None:
    for name in StoreData.TABLES:
        pd.testing.assert_frame_equal(a.table(name).reset_index(drop=True), b.table(name).reset_index(drop=True),
                                      check_dtype=True, obj=name)


def test_round_trip_keeps_content_order_and_dtypes(store: Store, demo: StoreData) -> None:
    summary = store.import_store(demo, source="demo")
    assert not summary.unchanged and summary.counts == demo.counts() and summary.counts["items"] > 800
    back = store.load()
    assert_same(back, demo)
    assert str(back.interactions["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert back.reviews["rating"].dtype == np.int64 and isinstance(back.items["attributes"][0], dict)


def test_extra_columns_of_every_kind_and_time_zones_round_trip(store: Store) -> None:
    users = pd.DataFrame({
        "user_id": ["u1", "u2", "u3"],
        "joined": pd.to_datetime(["2020-01-01T10:00:00+08:00", None, "2021-06-30T23:59:59.123456Z"],
                                 utc=True, format="ISO8601"),
        "age": pd.array([31, None, 45], dtype="Int64"), "score": [0.5, np.nan, 2.0], "vip": [True, False, True],
        "city": ["Leeds", None, "上海"], "prefs": [{"size": "M"}, {}, {"tags": ["a", "b"]}],
    })
    inter = pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["i1", "i2"], "event": "view", "value": np.nan,
                          "timestamp": pd.to_datetime(["2024-03-31T01:30:00", "2024-10-27T02:30:00"])
                          .tz_localize("Europe/Paris", ambiguous=True)})
    store.import_store(StoreData(users=users, interactions=inter))
    back = store.load()
    pd.testing.assert_frame_equal(back.users, users, check_dtype=True)
    assert list(back.interactions["timestamp"]) == [pd.Timestamp("2024-03-31T00:30Z"),
                                                    pd.Timestamp("2024-10-27T00:30Z")]


def test_reimport_is_idempotent_and_a_change_replaces(store: Store, demo: StoreData) -> None:
    first = store.import_store(demo, source="a")
    generation = store.generation()
    again = store.import_store(demo, source="b")
    assert again.unchanged and again.run_id == first.run_id and store.generation() == generation
    assert store.last_import()["source"] == "a"
    smaller = StoreData(items=demo.items.iloc[:5], interactions=demo.interactions.iloc[:7])
    assert not store.import_store(smaller).unchanged and store.generation() == generation + 1
    assert store.counts() == {**smaller.counts(), "events": 0}
    back = store.load()
    for name in ("items", "interactions"):
        pd.testing.assert_frame_equal(back.table(name), smaller.table(name).reset_index(drop=True), obj=name)


def test_a_refused_import_is_rolled_back(store: Store, demo: StoreData) -> None:
    store.import_store(demo, source="good")
    users = pd.DataFrame({"user_id": ["dup", "dup"]})  # users goes last: every other table is replaced by then
    bad = StoreData(items=demo.items.iloc[:5], interactions=demo.interactions.iloc[:5], users=users)
    with pytest.raises(StoreImportError, match="rolled back"):
        store.import_store(bad, source="bad")
    assert store.last_import()["source"] == "good"
    assert_same(store.load(), demo)
    assert store.import_store(demo).unchanged


def test_events_are_idempotent_and_checked(store: Store) -> None:
    assert store.append_events([{"event_id": "e1", "user_id": "u1", "type": "view", "payload": {"k": [1]}},
                                {"event_id": "e1", "user_id": "u9", "type": "click"},
                                {"event_id": "e2", "user_id": "u1", "type": "rating", "value": 4,
                                 "created_at": "2024-05-01T12:00:00+02:00"}]) == ["e1", "e2"]
    assert store.append_events([{"event_id": "e2", "user_id": "u1", "type": "view"}]) == []
    events = store.events_since()
    assert list(events["event_id"]) == ["e1", "e2"] and events.iloc[0]["payload"] == {"k": [1]}
    assert events.iloc[1]["created_at"] == pd.Timestamp("2024-05-01T10:00:00Z")
    with pytest.raises(EventError, match="event 0: field 'user_id'"):
        store.append_events([{"user_id": "u" * 300, "type": "view"}])  # longer than the column holds
    with pytest.raises(EventError, match="event 1: field 'item_id'"):
        store.append_events([{"user_id": "u1", "type": "view"}, {"user_id": "u1", "type": "view",
                                                                  "item_id": "nul\x00byte"}])
    assert store.counts()["events"] == 2


def test_concurrent_writers_store_each_event_once(db_url: str) -> None:
    """Four writers, each its own engine, send overlapping ids at once: each id stored once, and reported
    as new by exactly one writer."""
    ids = [f"ev-{n}" for n in range(400)]
    with Store(db_url) as s:
        s.create_schema()
    reported: list[list[str]] = [[] for _ in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(w: int) -> None:
        try:
            with Store(db_url) as s:
                start.wait()
                mine = ids[w * 50:w * 50 + 250]  # 250 each, overlapping the next writers' ranges
                for b in range(0, len(mine), 25):
                    reported[w] += s.append_events([{"event_id": e, "user_id": f"w{w}", "type": "click"}
                                                    for e in mine[b:b + 25]])
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with Store(db_url) as s:
        stored = list(s.events_since()["event_id"])
    assert sorted(stored) == sorted(ids) and len(stored) == len(set(stored))
    flat = [e for r in reported for e in r]
    assert sorted(flat) == sorted(ids)


def test_delete_user_erases_them_everywhere(store: Store, demo: StoreData) -> None:
    store.import_store(demo)
    user = demo.reviews["user_id"].value_counts().index[0]
    store.append_events([{"user_id": user, "type": "view"}, {"user_id": "someone-else", "type": "view"}])
    expected = {name: int((demo.table(name)["user_id"] == user).sum())
                for name in ("interactions", "reviews", "orders", "users")}
    assert expected["reviews"] >= 2
    generation = store.generation()
    assert store.delete_user(user) == {**expected, "events": 1}
    assert store.generation() == generation + 1
    back = store.load()
    for name in ("interactions", "reviews", "orders", "users"):
        assert user not in set(back.table(name)["user_id"])
    assert list(store.events_since()["user_id"]) == ["someone-else"]
    assert not store.import_store(demo).unchanged


def test_sessions_and_tickets_live_in_the_same_database(store: Store) -> None:
    from shopsense.assistant.sessions import SessionStore
    from shopsense.assistant.state import DialogueState

    store.create_schema()
    sessions = SessionStore(store.engine)
    sid = uuid.uuid4().hex
    state = DialogueState(session_id=sid, user_id="shopper-1")
    state.remember("user", "where is my order?")
    sessions.save(state)
    state.remember("assistant", "Order 7 is on its way.")
    sessions.save(state)
    back = sessions.load(sid)
    assert back.user_id == "shopper-1" and [t["text"] for t in back.turns] == [t["text"] for t in state.turns]
    ticket = sessions.open_ticket(back, "handover", "wants a human")
    assert [t["ticket_id"] for t in sessions.tickets()] == [ticket]
    assert sessions.tickets()[0]["transcript"][-1]["text"] == "Order 7 is on its way."
    assert sessions.delete_user("shopper-1") == {"assistant_sessions": 1, "assistant_tickets": 1}
    assert sessions.load(sid).turns == [] and sessions.tickets() == []


def test_two_processes_worth_of_turns_on_one_session_lose_none(db_url: str) -> None:
    """Two writers, each with its own engine, take turns on one session through ``claim``: no turn is lost."""
    from shopsense.assistant.sessions import SessionStore

    with Store(db_url) as a, Store(db_url) as b:
        stores = [SessionStore(a.engine), SessionStore(b.engine)]
        sid = stores[0].create("visitor:v1")
        errors: list[BaseException] = []

        def talk(n: int) -> None:
            try:
                for _ in range(15):
                    with stores[n].claim(sid) as lease:
                        state = stores[n].load(sid)
                        state.remember("user", f"from writer {n}")
                        stores[n].save(state, lease if n == 0 else None)  # lets go in the same commit, or after
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                errors.append(exc)

        threads = [threading.Thread(target=talk, args=(n,)) for n in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        state = stores[1].load(sid)
        assert state.turn_count == 30 and sorted(t["n"] for t in state.turns) == list(range(30))
        assert stores[0].owner(sid) == "visitor:v1"


def test_an_older_sessions_table_gains_the_new_columns(db_url: str) -> None:
    from sqlalchemy import JSON, Column, DateTime, MetaData, String, Table, inspect

    from shopsense.assistant.sessions import SessionStore

    old = MetaData()
    Table("assistant_sessions", old, Column("session_id", String(128), primary_key=True),
          Column("user_id", String(255)), Column("state", JSON, nullable=False),
          Column("updated_at", DateTime, nullable=False))
    with Store(db_url) as store:
        old.create_all(store.engine)
        SessionStore(store.engine)
        SessionStore(store.engine)  # a second start finds them there
        have = {c["name"] for c in inspect(store.engine).get_columns("assistant_sessions")}
    assert {"owner", "lease_token", "lease_until"} <= have
