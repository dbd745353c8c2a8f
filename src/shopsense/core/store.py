"""The store: one database behind a SQLAlchemy URL, filled by ``shopsense import`` and read by every pipeline.

:meth:`Store.import_store` replaces the six store tables with a :class:`StoreData` in ONE transaction
(a failed or killed import leaves the previous content), and changes nothing when the content hash of
the incoming data equals the last import's. :meth:`Store.load` gives the data back with canonical dtypes
(UTC timestamps, float prices, int ratings, dict attributes, extra columns in their original order and
dtype). The ``events`` table is the API's durable log: :meth:`Store.append_events` is idempotent by
``event_id``; imports never touch it. :func:`import_directory` is the whole ``shopsense import``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, delete, func, insert, select, type_coerce, union
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import Text

from shopsense.core.db import (
    COLUMN_KINDS,
    SQLITE_BEGIN_OPTION,
    STORE_MODELS,
    Base,
    EventRow,
    ImportRunRow,
    MediaRow,
    PreparedTable,
    StoreMetaRow,
    column_from_db,
    create_tables,
    extra_from_db,
    make_engine,
    prepare_table,
    to_utc_series,
)
from shopsense.core.media import MediaFile
from shopsense.core.records import EVENT_TYPES, TABLE_COLUMNS, StoreData
from shopsense.core.settings import Settings

Progress = Callable[[str, int, int], None]  # (table, rows written so far, rows of that table)

_CHUNK = 10_000
_HASH_VERSION = "shopsense-store-1"
_USER_TABLES = ("interactions", "reviews", "orders", "users", "events")
EVENT_COLUMNS = ("event_id", "user_id", "item_id", "type", "value", "payload", "session_id", "model_version",
                 "created_at", "received_at")


class StoreImportError(RuntimeError):
    """The database refused an import; the transaction was rolled back, so the store is as it was."""


class EventError(ValueError):
    """An event that cannot be stored (says which event and which field)."""


@dataclass
class ImportSummary:
    """What an import did: rows per table now in the store, and whether anything changed."""

    source: str
    content_hash: str
    counts: dict[str, int]
    unchanged: bool
    run_id: int | None = None
    seconds: float = 0.0
    prep: dict[str, Any] = field(default_factory=dict)  # PrepReport.as_dict() when import_directory ran
    rejected: dict[str, int] = field(default_factory=dict)  # rows dropped by validation, per table
    identity: dict[str, str] = field(default_factory=dict)  # store.json's checked fields
    identity_changed: bool = False  # and whether they differ from what the store held
    warnings: list[str] = field(default_factory=list)


def _utc_naive(value: Any, what: str) -> datetime:
    """A datetime/ISO string/unix seconds as naive UTC (the form SQLite can hold)."""
    try:
        stamp = pd.Timestamp(value, unit="s") if isinstance(value, int | float) else pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise EventError(f"{what}: not a timestamp: {value!r}") from exc
    if pd.isna(stamp):
        raise EventError(f"{what}: not a timestamp: {value!r}")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


class Store:
    """The store: one database behind a SQLAlchemy URL (SQLite file by default, Postgres by URL)."""

    # SQLite only: rows go as driver-ready tuples straight to sqlite3's executemany, since SQLAlchemy's
    # per-row parameter processing makes a large import several times slower. False takes the generic
    # SQLAlchemy path that every other database gets (the tests compare the two).
    raw_sqlite_inserts: bool = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._schema_ready = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        """The workspace's store (``settings.db_url``: ``$SHOPSENSE_DATABASE_URL`` or ``HOME/store.db``)."""
        settings.home.mkdir(parents=True, exist_ok=True)
        return cls(settings.db_url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create_schema(self) -> None:
        """Create the tables that do not exist yet (idempotent)."""
        create_tables(Base.metadata, self.engine)
        self._schema_ready = True

    def _ready(self) -> None:
        if not self._schema_ready:
            self.create_schema()

    def _write(self) -> Connection:
        """A connection whose transactions take the write lock up front (SQLite: BEGIN IMMEDIATE)."""
        return self.engine.connect().execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"})

    # -- import ---------------------------------------------------------------------------------------

    def import_store(self, data: StoreData, source: str = "", progress: Progress | None = None,
                     media: Mapping[str, MediaFile] | None = None) -> ImportSummary:
        """Replace the six store tables with ``data`` in one transaction; unchanged content changes nothing.

        Raises :class:`StoreImportError` (store untouched) when the database refuses a row, e.g. two
        items with the same ``item_id``.
        """
        self._ready()
        started = datetime.now(UTC).replace(tzinfo=None)
        digest = hashlib.sha256(_HASH_VERSION.encode())
        prepared = {name: prepare_table(name, data.table(name)) for name in StoreData.TABLES}
        for table in prepared.values():
            for part in table.hash_parts:
                digest.update(part)
        content_hash = digest.hexdigest()
        counts = {name: len(table) for name, table in prepared.items()}
        extra_meta = {name: table.extra_meta for name, table in prepared.items()}
        try:
            with self._write() as conn, conn.begin():
                last = self._last_run(conn)
                # The counts check catches a store edited since (delete_user): the same files change it then.
                if last is not None and last.content_hash == content_hash and self._counts(conn) == counts:
                    return ImportSummary(source, content_hash, counts, unchanged=True, run_id=last.id)
                for name in StoreData.TABLES:
                    conn.execute(delete(STORE_MODELS[name].__table__))
                for name in StoreData.TABLES:
                    self._insert_chunks(conn, prepared[name], progress)
                _replace_media(conn, media or {})
                finished = datetime.now(UTC).replace(tzinfo=None)
                run_id = conn.execute(insert(ImportRunRow.__table__).values(
                    source=source, content_hash=content_hash, counts=counts, columns=extra_meta,
                    started_at=started, finished_at=finished)).inserted_primary_key[0]
                _bump_generation(conn)
        except SQLAlchemyError as exc:
            raise StoreImportError(f"import failed and was rolled back, the store is unchanged: "
                                   f"{getattr(exc, 'orig', None) or exc}") from exc
        return ImportSummary(source, content_hash, counts, unchanged=False, run_id=run_id,
                             seconds=(finished - started).total_seconds())

    def _insert_chunks(self, conn: Connection, prepared: PreparedTable, progress: Progress | None) -> None:
        table = STORE_MODELS[prepared.name].__table__
        raw = self.raw_sqlite_inserts and conn.dialect.name == "sqlite"
        names, rows = prepared.rows(raw_sqlite=raw)
        quote = conn.dialect.identifier_preparer.quote
        sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
               f"VALUES ({', '.join('?' * len(names))})")
        if progress:
            progress(prepared.name, 0, len(rows))
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start:start + _CHUNK]
            if raw:
                conn.exec_driver_sql(sql, chunk)
            else:
                conn.execute(insert(table), chunk)
            if progress:
                progress(prepared.name, start + len(chunk), len(rows))

    @staticmethod
    def _last_run(conn: Connection) -> Any:
        runs = ImportRunRow.__table__
        return conn.execute(select(runs).order_by(runs.c.id.desc()).limit(1)).first()

    def last_import(self) -> dict[str, Any] | None:
        """The latest import that changed the store: source, hash, counts, times; None before any."""
        self._ready()
        with self.engine.connect() as conn:
            row = self._last_run(conn)
        if row is None:
            return None
        return {"id": row.id, "source": row.source, "content_hash": row.content_hash, "counts": row.counts,
                "started_at": row.started_at.replace(tzinfo=UTC),
                "finished_at": row.finished_at.replace(tzinfo=UTC)}

    # -- reading --------------------------------------------------------------------------------------

    def load(self) -> StoreData:
        """The store tables as a :class:`StoreData`: canonical dtypes, extra columns as imported."""
        self._ready()
        with self.engine.connect() as conn, conn.begin():  # one snapshot for all tables
            last = self._last_run(conn)
            meta: dict[str, dict[str, str]] = (last.columns if last else None) or {}
            tables = {name: self._load_table(conn, name, meta.get(name, {})) for name in StoreData.TABLES}
        return StoreData(**tables)

    @staticmethod
    def _load_table(conn: Connection, name: str, extra_meta: Mapping[str, str]) -> pd.DataFrame:
        table = STORE_MODELS[name].__table__
        canonical = TABLE_COLUMNS[name]
        # Timestamps come back raw (ISO text on SQLite): one vectorised parse beats a per-row one.
        selected = [type_coerce(table.c[c], Text) if COLUMN_KINDS.get((name, c)) == "datetime" else table.c[c]
                    for c in canonical]
        rows = conn.execute(select(*selected, table.c.extra).order_by(table.c.row_id)).all()
        values = list(zip(*rows, strict=True)) if rows else [()] * (len(canonical) + 1)
        data = {c: column_from_db(name, c, list(v)) for c, v in zip(canonical, values, strict=False)}
        extras = list(values[-1])
        names = list(extra_meta)
        for e in extras:  # columns written by something other than import_store
            for key in e or ():
                if key not in extra_meta and key not in names:
                    names.append(key)
        for col in names:
            data[col] = extra_from_db([(e or {}).get(col, np.nan) for e in extras], extra_meta.get(col))
        return pd.DataFrame(data)

    def counts(self) -> dict[str, int]:
        """Rows per store table, plus the event log."""
        self._ready()
        with self.engine.connect() as conn:
            result = self._counts(conn)
            result["events"] = conn.execute(select(func.count()).select_from(EventRow)).scalar_one()
        return result

    def shoppers(self) -> int:
        """Distinct shoppers named by any table (users, interactions, reviews, orders, the event log): a store
        may list no users table at all and still have thousands of shoppers."""
        self._ready()
        tables = [STORE_MODELS[n].__table__ for n in _USER_TABLES if n != "events"] + [EventRow.__table__]
        named = union(*(select(t.c.user_id) for t in tables)).subquery()
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(named)).scalar_one())

    @staticmethod
    def _counts(conn: Connection) -> dict[str, int]:
        return {name: conn.execute(select(func.count()).select_from(STORE_MODELS[name])).scalar_one()
                for name in StoreData.TABLES}

    # -- events ---------------------------------------------------------------------------------------

    def append_events(self, events: list[Mapping[str, Any]]) -> list[str]:
        """Store events in one transaction; returns the ids newly stored (known ``event_id``s are ignored).

        An event needs ``user_id`` and ``type`` (one of :data:`EVENT_TYPES`); ``event_id`` (a uuid when
        missing), ``item_id``, ``value``, ``payload`` (dict), ``session_id``, ``model_version`` and
        ``created_at`` (datetime, ISO-8601 or unix seconds; default now) are optional.
        """
        self._ready()
        received = datetime.now(UTC).replace(tzinfo=None)
        rows: dict[str, dict[str, Any]] = {}
        for i, ev in enumerate(events):
            row = _event_row(i, ev, received)
            rows.setdefault(row["event_id"], row)  # the first of two equal ids in one batch wins
        if not rows:
            return []
        with self._write() as conn, conn.begin():
            ids = list(rows)
            seen: set[str] = set()
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                seen.update(conn.execute(select(EventRow.event_id).where(EventRow.event_id.in_(chunk))).scalars())
            new = [rows[i] for i in ids if i not in seen]
            if new and conn.dialect.insert_executemany_returning:
                # Only what this transaction really inserted: on Postgres a concurrent writer may have stored
                # some of the same ids since the check above (SQLite's BEGIN IMMEDIATE rules that out).
                stmt = _insert_ignoring_duplicates(conn, EventRow.__table__).returning(EventRow.event_id)
                stored = set(conn.execute(stmt, new).scalars())
                new = [r for r in new if r["event_id"] in stored]
            elif new:
                conn.execute(_insert_ignoring_duplicates(conn, EventRow.__table__), new)
        return [r["event_id"] for r in new]

    def events_since(self, ts: datetime | str | None = None) -> pd.DataFrame:
        """Events received after ``ts`` (all when None), oldest first; timestamps are UTC."""
        self._ready()
        table = EventRow.__table__
        cols = [type_coerce(table.c[c], Text) if c in ("created_at", "received_at") else table.c[c]
                for c in EVENT_COLUMNS]
        query = select(*cols).order_by(table.c.id)
        if ts is not None:
            query = query.where(table.c.received_at > _utc_naive(ts, "since"))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        values = list(zip(*rows, strict=True)) if rows else [()] * len(EVENT_COLUMNS)
        frame = pd.DataFrame({c: pd.Series(list(v), dtype=object)
                              for c, v in zip(EVENT_COLUMNS, values, strict=True)})
        frame["value"] = frame["value"].astype("float64")
        frame["payload"] = pd.Series([p if p is not None else {} for p in frame["payload"]], dtype=object)
        for col in ("created_at", "received_at"):
            frame[col] = to_utc_series(frame[col])
        # A client clock far off (or a time from before the API bounded it) must not reorder history or break
        # a report: such an event happened when it was received.
        implausible = frame["created_at"].isna() | (frame["created_at"] > frame["received_at"] + _CLOCK_SLACK)
        frame.loc[implausible, "created_at"] = frame.loc[implausible, "received_at"]
        return frame

    def events_summary(self) -> tuple[int, str | None]:
        """How many events the log holds and when the newest arrived (ISO-8601), without reading them."""
        self._ready()
        table = EventRow.__table__
        with self.engine.connect() as conn:
            count, newest = conn.execute(select(func.count(), func.max(table.c.received_at))).one()
        return int(count), newest.isoformat() if newest is not None else None

    def generation(self) -> int:
        """A number that grows with every change to the store's content (an import, an erasure); caches of
        anything derived from the store are keyed on it. 0 for a store never imported into."""
        self._ready()
        with self.engine.connect() as conn:
            value = conn.execute(select(StoreMetaRow.__table__.c.value).where(
                StoreMetaRow.__table__.c.key == "generation")).scalar()
        return int(value or 0)

    def identity(self) -> dict[str, str]:
        """The checked fields of the imported ``store.json`` (name, logo, currency, locale); {} when none."""
        self._ready()
        with self.engine.connect() as conn:
            value = conn.execute(select(StoreMetaRow.__table__.c.value).where(
                StoreMetaRow.__table__.c.key == "identity")).scalar()
        return json.loads(value) if value else {}

    def media(self, name: str) -> MediaFile | None:
        """An image of the store (``/media/<name>``), or None."""
        self._ready()
        table = MediaRow.__table__
        with self.engine.connect() as conn:
            row = conn.execute(select(table.c.content_type, table.c.data).where(table.c.name == name)).first()
        return None if row is None else MediaFile(name, row.content_type, bytes(row.data))

    def set_identity(self, identity: dict[str, str]) -> bool:
        """Keep ``identity`` (an import's ``store.json``) with the store; True when it changed (the generation
        then moves on, so every server process shows the new name)."""
        self._ready()
        meta = StoreMetaRow.__table__
        value = json.dumps(identity, sort_keys=True, ensure_ascii=False)
        with self._write() as conn, conn.begin():
            current = conn.execute(select(meta.c.value).where(meta.c.key == "identity")).scalar()
            if current == value or (current is None and not identity):
                return False
            conn.execute(delete(meta).where(meta.c.key == "identity"))
            conn.execute(insert(meta).values(key="identity", value=value))
            _bump_generation(conn)
        return True

    def delete_user(self, user_id: str) -> dict[str, int]:
        """Erase a user from every table, event log included, in one transaction; rows removed per table.

        The generation moves on when anything was removed, and on SQLite the write-ahead log is checkpointed
        and truncated so that the deleted rows (overwritten by ``secure_delete``) leave no copy in it either."""
        self._ready()
        removed: dict[str, int] = {}
        with self._write() as conn, conn.begin():
            for name in _USER_TABLES:
                table = EventRow.__table__ if name == "events" else STORE_MODELS[name].__table__
                removed[name] = conn.execute(delete(table).where(table.c.user_id == user_id)).rowcount
            if any(removed.values()):
                _bump_generation(conn)
        self.checkpoint()
        return removed

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database file and truncate it (no-op elsewhere)."""
        if self.engine.dialect.name != "sqlite":
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


_CLOCK_SLACK = pd.Timedelta(days=1)


def _replace_media(conn: Connection, media: Mapping[str, MediaFile]) -> None:
    """The images the imported items name, and no others (a name is its content: kept ones are not rewritten)."""
    table = MediaRow.__table__
    have = set(conn.execute(select(table.c.name)).scalars())
    stale = have - set(media)
    if stale:
        conn.execute(delete(table).where(table.c.name.in_(stale)))
    for name in sorted(set(media) - have):
        conn.execute(insert(table).values(name=name, content_type=media[name].content_type, data=media[name].data))


def _bump_generation(conn: Connection) -> None:
    meta = StoreMetaRow.__table__
    current = conn.execute(select(meta.c.value).where(meta.c.key == "generation")).scalar()
    if current is None:
        conn.execute(insert(meta).values(key="generation", value="1"))
    else:
        conn.execute(meta.update().where(meta.c.key == "generation").values(value=str(int(current) + 1)))


def _event_row(index: int, ev: Mapping[str, Any], received: datetime) -> dict[str, Any]:
    where = f"event {index}"
    if not isinstance(ev, Mapping):
        raise EventError(f"{where}: expected an object, got {type(ev).__name__}")
    user_id = ev.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        raise EventError(f"{where}: field 'user_id': required, a non-empty string")
    _fits(where, "user_id", user_id)
    kind = ev.get("type")
    if kind not in EVENT_TYPES:
        raise EventError(f"{where}: field 'type': {kind!r} is not one of {', '.join(EVENT_TYPES)}")
    value = ev.get("value")
    if value is not None:
        try:
            value = float(value)
        except (TypeError, ValueError) as exc:
            raise EventError(f"{where}: field 'value': not a number: {value!r}") from exc
    payload = ev.get("payload")
    if payload is not None and not isinstance(payload, dict):
        raise EventError(f"{where}: field 'payload': expected an object")
    created = ev.get("created_at")
    event_id = ev.get("event_id") or uuid.uuid4().hex
    return {
        "event_id": _fits(where, "event_id", str(event_id)), "user_id": user_id, "type": kind, "value": value,
        "payload": payload, "item_id": _fits(where, "item_id", _opt_str(ev.get("item_id"))),
        "session_id": _fits(where, "session_id", _opt_str(ev.get("session_id"))),
        "model_version": _fits(where, "model_version", _opt_str(ev.get("model_version"))),
        "created_at": received if created is None else _utc_naive(created, f"{where}: field 'created_at'"),
        "received_at": received,
    }


def _fits(where: str, name: str, text: str | None) -> str | None:
    """``text`` unchanged when the events column ``name`` can hold it on every database: Postgres enforces
    the column length that SQLite ignores, and refuses NUL characters in text."""
    if text is None:
        return None
    limit = EventRow.__table__.c[name].type.length
    if limit is not None and len(text) > limit:
        raise EventError(f"{where}: field {name!r}: at most {limit} characters, got {len(text)}")
    if "\x00" in text:
        raise EventError(f"{where}: field {name!r}: contains a NUL character")
    return text


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _insert_ignoring_duplicates(conn: Connection, table: Table) -> Any:
    # Another writer may have stored the same id since our check (Postgres has no BEGIN IMMEDIATE).
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["event_id"])
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["event_id"])
    return insert(table)


def import_directory(path: str | Path, store: Store, progress: Progress | None = None,
                     on_step: Callable[[str], None] | None = None,
                     skip_invalid: bool = False) -> ImportSummary:
    """``shopsense import``: load and validate a store directory, clean/mask/dedupe it, import it.

    Raises :class:`~shopsense.core.loaders.StoreDataError` (its ``report`` holds every problem, each with
    file, line and column) when the directory has errors, without touching the database; with
    ``skip_invalid`` the rows that passed are imported and the errors come back as warnings.
    ``on_step`` hears which phase runs (for a status line).
    """
    from shopsense.core.loaders import StoreDataError, load_store_dir
    from shopsense.core.preprocess import prepare_store
    from shopsense.core.validation import Problem, ValidationReport, format_problem

    step = on_step or (lambda _message: None)
    path = Path(path)
    step(f"reading and validating {path.name}")
    try:
        result = load_store_dir(path)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise StoreDataError(ValidationReport(problems=[Problem(str(path), None, None, str(exc))])) from None
    report = result.report
    if not report.ok and not skip_invalid:
        raise StoreDataError(report)
    step("cleaning text, masking personal data, removing duplicate reviews")
    prepared, prep = prepare_store(result.store)
    step("writing the store")
    summary = store.import_store(prepared, source=str(path.resolve()), progress=progress, media=result.media)
    summary.identity = result.identity
    summary.identity_changed = store.set_identity(result.identity)
    summary.prep = prep.as_dict()
    summary.rejected = {name: t.rows_rejected for name, t in report.tables.items() if t.rows_rejected}
    summary.warnings = [format_problem(p) for p in report.problems]
    return summary
