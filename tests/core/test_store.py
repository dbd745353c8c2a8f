"""The SQLAlchemy store: round trip with dtypes, idempotent and transactional import, events, erasure."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopsense.core.records import StoreData
from shopsense.core.settings import Settings
from shopsense.core.store import EventError, Store, StoreImportError

DEMO = Path(__file__).resolve().parents[2] / "src" / "shopsense" / "data" / "demo_store"


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True, format="ISO8601")


def read_demo() -> StoreData:
    """The bundled demo store read with plain pandas (independent of the loaders), canonical dtypes."""
    assert (DEMO / "items.csv").exists(), "the bundled demo store is package data: it must be there"
    def read(name: str) -> pd.DataFrame:  # text stays text ("" when empty), as the loaders give it
        return pd.read_csv(DEMO / name, dtype=str, keep_default_na=False)

    def number(col: pd.Series) -> pd.Series:
        return pd.to_numeric(col.mask(col == ""))

    items = read("items.csv")
    items["price"] = number(items["price"])
    items["attributes"] = [json.loads(a) if a else {} for a in items["attributes"]]
    inter = read("interactions.csv")
    inter["timestamp"] = _utc(inter["timestamp"])
    inter["value"] = number(inter["value"]).astype("float64")
    reviews = read("reviews.csv")
    reviews["rating"] = reviews["rating"].astype("int64")
    reviews["timestamp"] = _utc(reviews["timestamp"])
    reviews["text_truncated"] = reviews["text_truncated"] == "true"
    orders = read("orders.csv")
    for col in ("created_at", "updated_at"):
        orders[col] = _utc(orders[col])
    faq = read("faq.csv")
    faq["bitext_row"] = faq["bitext_row"].astype("int64")
    users = pd.DataFrame({"user_id": sorted(set(reviews["user_id"]))})
    users["first_seen"] = users["user_id"].map(reviews.groupby("user_id")["timestamp"].min())
    users["n_reviews"] = users["user_id"].map(reviews["user_id"].value_counts()).astype("int64")
    return StoreData(items=items, interactions=inter, reviews=reviews, faq=faq, orders=orders, users=users)


@pytest.fixture(scope="module")
def demo() -> StoreData:
    return read_demo()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as s:
        yield s


def assert_same(a: StoreData, b: StoreData, tables: tuple[str, ...] = StoreData.TABLES) -> None:
    for name in tables:
        left, right = a.table(name).reset_index(drop=True), b.table(name).reset_index(drop=True)
        pd.testing.assert_frame_equal(left, right, check_dtype=True, obj=name)


def test_round_trip_real_store_keeps_content_order_and_dtypes(store: Store, demo: StoreData) -> None:
    summary = store.import_store(demo, source="demo")
    assert not summary.unchanged and summary.counts == demo.counts()
    back = store.load()
    assert_same(back, demo)
    assert str(back.interactions["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert back.items["price"].dtype == np.float64 and back.reviews["rating"].dtype == np.int64
    assert isinstance(back.items["attributes"][0], dict) and back.items["attributes"][0]
    assert back.reviews["text_truncated"].dtype == bool  # an extra column keeps its dtype
    assert list(back.orders.columns)[-2:] == ["origin", "review_id"]  # extras after canonical, in order


def test_round_trip_of_extra_columns_of_every_kind(store: Store) -> None:
    users = pd.DataFrame({
        "user_id": ["u1", "u2", "u3"],
        "joined": pd.to_datetime(["2020-01-01T10:00:00+08:00", None, "2021-06-30T23:59:59.123456Z"],
                                 utc=True, format="ISO8601"),
        "local_day": pd.to_datetime(["2020-01-01", "2020-02-01", None]),
        "age": pd.array([31, None, 45], dtype="Int64"),
        "score": [0.5, np.nan, 2.0],
        "vip": [True, False, True],
        "city": ["Leeds", None, "上海"],
        "prefs": [{"size": "M"}, {}, {"tags": ["a", "b"]}],
        "visits": np.array([3, 0, 7], dtype="int64"),
    })
    store.import_store(StoreData(users=users))
    back = store.load().users
    pd.testing.assert_frame_equal(back, users, check_dtype=True)


def test_timestamps_in_any_zone_come_back_as_the_same_instants_in_utc(store: Store) -> None:
    inter = pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["i1", "i2"], "event": "view", "value": np.nan,
                          "timestamp": pd.to_datetime(["2024-03-31T01:30:00", "2024-10-27T02:30:00"])
                          .tz_localize("Europe/Paris", ambiguous=True)})
    store.import_store(StoreData(interactions=inter))
    back = store.load().interactions["timestamp"]
    assert str(back.dtype) == "datetime64[ns, UTC]"
    assert list(back) == list(inter["timestamp"])  # same instants
    # 01:30 CET (+01:00) and 02:30 CEST (+02:00, the first of the two 02:30s) are both 00:30 UTC.
    assert list(back) == [pd.Timestamp("2024-03-31T00:30Z"), pd.Timestamp("2024-10-27T00:30Z")]


def _data_version(path: Path) -> int:
    return sqlite3.connect(path).execute("PRAGMA data_version").fetchone()[0]


def test_reimporting_the_same_data_changes_nothing(tmp_path: Path, store: Store, demo: StoreData) -> None:
    first = store.import_store(demo, source="a")
    watcher = sqlite3.connect(tmp_path / "store.db")  # sees every commit made by another connection
    before = watcher.execute("PRAGMA data_version").fetchone()[0]
    shuffled_index = StoreData(**{n: demo.table(n).set_axis(range(100, 100 + len(demo.table(n))))
                                  for n in StoreData.TABLES})
    again = store.import_store(shuffled_index, source="b")  # the index is not content
    assert again.unchanged and again.content_hash == first.content_hash and again.run_id == first.run_id
    assert watcher.execute("PRAGMA data_version").fetchone()[0] == before  # nothing was committed
    assert store.last_import()["id"] == first.run_id and store.last_import()["source"] == "a"
    assert_same(store.load(), demo)


def test_changed_data_replaces_the_store(store: Store, demo: StoreData) -> None:
    first = store.import_store(demo)
    items = demo.items.copy()
    items.loc[0, "title"] = "A brand new title"
    changed = StoreData(items=items.iloc[:-1], interactions=demo.interactions.iloc[:10], reviews=demo.reviews,
                        faq=demo.faq, orders=demo.orders, users=demo.users)
    second = store.import_store(changed)
    assert not second.unchanged and second.content_hash != first.content_hash
    assert second.run_id != first.run_id
    back = store.load()
    assert_same(back, changed)
    assert back.items.loc[0, "title"] == "A brand new title" and len(back.interactions) == 10
    # and going back to the first content is a change again, not "unchanged"
    assert not store.import_store(demo).unchanged
    assert_same(store.load(), demo)


def test_a_failed_import_leaves_the_previous_content(store: Store, demo: StoreData) -> None:
    store.import_store(demo, source="good")
    # users is written last: items/interactions/... are already replaced inside the transaction when
    # the duplicate user_id violates the unique constraint.
    users = pd.concat([demo.users, demo.users.iloc[:1]], ignore_index=True)
    bad = StoreData(items=demo.items.iloc[:5], interactions=demo.interactions.iloc[:5], reviews=demo.reviews,
                    faq=demo.faq, orders=demo.orders, users=users)
    with pytest.raises(StoreImportError, match="rolled back.*UNIQUE constraint failed: users.user_id"):
        store.import_store(bad, source="bad")
    assert store.last_import()["source"] == "good"
    assert store.counts() == {**demo.counts(), "events": 0}
    assert_same(store.load(), demo)
    # the same good data is still recognised as the current content
    assert store.import_store(demo).unchanged


def test_sqlite_is_configured_for_durability(tmp_path: Path, store: Store) -> None:
    store.create_schema()
    with store.engine.connect() as conn:
        pragma = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in
                  ("journal_mode", "synchronous", "foreign_keys")}
    assert pragma == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1}


def test_a_chat_turn_s_relaxed_commit_never_relaxes_the_store_s_writes(store: Store) -> None:
    from shopsense.assistant.sessions import SessionStore
    from shopsense.core.db import SQLITE_BEGIN_OPTION, SQLITE_SYNC_OPTION

    sessions = SessionStore(store.engine)
    levels = []
    for options in ({SQLITE_SYNC_OPTION: "NORMAL"}, {}, {SQLITE_SYNC_OPTION: "NORMAL"}, {}):
        with store.engine.connect().execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"}, **options) as conn:
            with conn.begin():
                levels.append(conn.exec_driver_sql("PRAGMA synchronous").scalar())
    assert levels == [1, 2, 1, 2]  # NORMAL only for the transaction that asked; FULL again for the next
    session_id = sessions.create("visitor:v1")
    with sessions.claim(session_id) as lease:
        state = sessions.load(session_id)
        state.remember("user", "hello")
        sessions.save(state, lease)
    assert lease.released and len(sessions.load(session_id).turns) == 1
    with store.engine.connect() as conn:  # the lease went with the save: the next turn can claim at once
        assert conn.exec_driver_sql("SELECT lease_token FROM assistant_sessions").scalar() is None
    store.append_events([{"event_id": "e1", "user_id": "u1", "type": "view", "item_id": "toy_a"}])
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2


def test_store_from_settings_uses_the_workspace_or_the_database_url(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPSENSE_DATABASE_URL", raising=False)
    with Store.from_settings(Settings(home=tmp_path / "ws")) as s:
        s.create_schema()
    assert (tmp_path / "ws" / "store.db").is_file()
    monkeypatch.setenv("SHOPSENSE_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    with Store.from_settings(Settings(home=tmp_path / "ws2")) as s:
        s.import_store(StoreData(users=pd.DataFrame({"user_id": ["u1"]})))
    assert (tmp_path / "elsewhere.db").is_file() and not (tmp_path / "ws2" / "store.db").exists()


def test_append_events_is_idempotent_by_event_id(store: Store) -> None:
    t0 = datetime.now(UTC) - timedelta(seconds=1)
    ids = store.append_events([
        {"event_id": "e1", "user_id": "u1", "item_id": "i1", "type": "view"},
        {"event_id": "e2", "user_id": "u1", "item_id": "i2", "type": "rating", "value": 4,
         "created_at": "2024-05-01T12:00:00+02:00", "payload": {"source": "widget"}},
        {"event_id": "e1", "user_id": "u9", "type": "click"},  # same id in the same batch: ignored
        {"user_id": "u2", "type": "chat_feedback", "session_id": "s1", "model_version": "v3"},
    ])
    assert ids[:2] == ["e1", "e2"] and len(ids) == 3 and len(ids[2]) == 32  # a generated uuid
    assert store.append_events([{"event_id": "e2", "user_id": "u1", "type": "view"},
                                {"event_id": "e3", "user_id": "u3", "type": "purchase"}]) == ["e3"]
    events = store.events_since(None)
    assert list(events["event_id"]) == ["e1", "e2", ids[2], "e3"]
    e2 = events.iloc[1]
    assert e2["user_id"] == "u1" and e2["value"] == 4.0 and e2["payload"] == {"source": "widget"}
    assert e2["created_at"] == pd.Timestamp("2024-05-01T10:00:00Z")
    assert events.iloc[0]["user_id"] == "u1"  # the first of two equal ids won
    assert str(events["received_at"].dtype) == "datetime64[ns, UTC]" and (events["received_at"] >= t0).all()
    assert store.events_since(events["received_at"].max()).empty
    assert len(store.events_since(t0)) == 4


def test_a_bad_event_stores_nothing_and_says_which_field(store: Store) -> None:
    with pytest.raises(EventError, match=r"event 1: field 'type': 'like' is not one of"):
        store.append_events([{"user_id": "u1", "type": "view"}, {"user_id": "u1", "type": "like"}])
    with pytest.raises(EventError, match=r"event 0: field 'user_id'"):
        store.append_events([{"type": "view"}])
    with pytest.raises(EventError, match=r"event 0: field 'created_at': not a timestamp"):
        store.append_events([{"user_id": "u1", "type": "view", "created_at": "yesterday-ish"}])
    assert store.counts()["events"] == 0


def test_import_never_touches_the_event_log(store: Store, demo: StoreData) -> None:
    store.import_store(demo)
    store.append_events([{"event_id": "keep-me", "user_id": "u1", "type": "view"}])
    store.import_store(StoreData(items=demo.items.iloc[:3]))
    assert list(store.events_since()["event_id"]) == ["keep-me"]


def test_delete_user_erases_them_everywhere(store: Store, demo: StoreData) -> None:
    store.import_store(demo)
    user = demo.reviews["user_id"].value_counts().index[0]  # a user with several reviews
    store.append_events([{"user_id": user, "type": "view"}, {"user_id": "someone-else", "type": "view"}])
    expected = {name: int((demo.table(name)["user_id"] == user).sum())
                for name in ("interactions", "reviews", "orders", "users")}
    assert expected["reviews"] >= 2
    assert store.delete_user(user) == {**expected, "events": 1}
    back = store.load()
    for name in ("interactions", "reviews", "orders", "users"):
        assert user not in set(back.table(name)["user_id"])
        assert len(back.table(name)) == len(demo.table(name)) - expected[name]
    assert list(store.events_since()["user_id"]) == ["someone-else"]
    assert store.delete_user(user) == dict.fromkeys((*expected, "events"), 0)
    # the store no longer matches the last import, so importing the same files again restores it
    assert not store.import_store(demo).unchanged
    assert_same(store.load(), demo)


def test_fast_sqlite_path_writes_what_the_generic_path_writes(tmp_path: Path, demo: StoreData,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Other databases get SQLAlchemy's generic inserts; SQLite's shortcut must store the very same values."""
    with Store(f"sqlite:///{tmp_path / 'fast.db'}") as fast:
        fast.import_store(demo)
    monkeypatch.setattr(Store, "raw_sqlite_inserts", False)
    with Store(f"sqlite:///{tmp_path / 'generic.db'}") as generic:
        generic.import_store(demo)
        assert_same(generic.load(), demo)

    def dump(path: Path, table: str) -> list[tuple]:
        con = sqlite3.connect(path)
        cur = con.execute(f"SELECT * FROM {table} ORDER BY row_id")
        names = [d[0] for d in cur.description]
        rows = [tuple(json.loads(v) if n in ("attributes", "extra") and v is not None else v
                      for n, v in zip(names, row, strict=True)) for row in cur]
        con.close()
        return rows

    for name in StoreData.TABLES:
        assert dump(tmp_path / "fast.db", name) == dump(tmp_path / "generic.db", name), name
