"""The SQLAlchemy 2 schema of the store and the engine factory.

Six tables mirror the store directory (items, interactions, reviews, faq, orders, users): one column per
canonical column of :data:`~shopsense.core.records.TABLE_COLUMNS`, a surrogate ``row_id`` that keeps the
file order, and a JSON ``extra`` column with the columns a store supplied beyond the canonical ones.
``events`` is the API's durable event log (never touched by an import) and ``import_runs`` records each
import that changed something.

Timestamps are stored as naive UTC (SQLite has no time zones); :mod:`shopsense.core.store` converts at
the boundary. No foreign keys between store tables: a store may list interactions of items it no longer
sells, and an import must not fail on that.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    create_engine,
    event,
    inspect,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shopsense.core.records import TABLE_COLUMNS

# JSON NULL stays SQL NULL, so "no extra columns" costs nothing and reads back as None.
JsonColumn = JSON(none_as_null=True)

# Execution option read by the "begin" listener: "BEGIN IMMEDIATE" takes SQLite's write lock up front,
# so a read-then-write transaction (import, append_events) cannot fail half-way on a lock upgrade.
SQLITE_BEGIN_OPTION = "shopsense_sqlite_begin"
# Execution option: "NORMAL" commits a transaction without an fsync. In WAL mode it is still atomic and
# survives the process being killed; only a power cut can take back the last such commits. For state that is
# cheap to lose that way (a chat session's last turn), never for the store's rows or events.
SQLITE_SYNC_OPTION = "shopsense_sqlite_synchronous"


class Base(DeclarativeBase):
    """Declarative base of every shopsense table."""


class ItemRow(Base):
    """A product of the catalog."""

    __tablename__ = "items"
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    brand: Mapped[str | None] = mapped_column(Text)
    price: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(16))
    attributes: Mapped[Any] = mapped_column(JsonColumn, nullable=True)
    image_url: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[Any] = mapped_column(JsonColumn, nullable=True)


class InteractionRow(Base):
    """One thing a user did with an item, as imported from the store directory."""

    __tablename__ = "interactions"
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    item_id: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    timestamp: Mapped[datetime | None] = mapped_column(DateTime)
    event: Mapped[str | None] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float)
    extra: Mapped[Any] = mapped_column(JsonColumn, nullable=True)


class ReviewRow(Base):
    """A customer review with 1-5 stars."""

    __tablename__ = "reviews"
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    review_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    user_id: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    item_id: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    rating: Mapped[int] = mapped_column(Integer, nullable=False)
    text: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[datetime | None] = mapped_column(DateTime)
    extra: Mapped[Any] = mapped_column(JsonColumn, nullable=True)


class FaqRow(Base):
    """A question/answer pair of the FAQ or of a policy page."""

    __tablename__ = "faq"
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    faq_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    question: Mapped[str] = mapped_column(Text, nullable=False)
    answer: Mapped[str] = mapped_column(Text, nullable=False)
    category: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[Any] = mapped_column(JsonColumn, nullable=True)


class OrderRow(Base):
    """One order line (an order with several items has several rows with the same ``order_id``)."""

    __tablename__ = "orders"
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    user_id: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    item_id: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)
    extra: Mapped[Any] = mapped_column(JsonColumn, nullable=True)


class UserRow(Base):
    """A shopper; profile columns live in ``extra``."""

    __tablename__ = "users"
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    extra: Mapped[Any] = mapped_column(JsonColumn, nullable=True)


class EventRow(Base):
    """One event the API received (view, click, cart, purchase, rating, chat feedback): the durable log."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    user_id: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    item_id: Mapped[str | None] = mapped_column(String(255), index=True)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    value: Mapped[float | None] = mapped_column(Float)
    payload: Mapped[Any] = mapped_column(JsonColumn, nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(255))
    model_version: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    __table_args__ = (Index("ix_events_received_at", "received_at"),)


class ImportRunRow(Base):
    """One import that changed the store: where it came from, its content hash, row counts, timing."""

    __tablename__ = "import_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text, nullable=False, default="")
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    counts: Mapped[Any] = mapped_column(JsonColumn, nullable=False)
    # {table: {column: dtype}} of the extra columns, so that load() gives them back in order and type.
    columns: Mapped[Any] = mapped_column(JsonColumn, nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    finished_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class StoreMetaRow(Base):
    """Small facts about the store itself; ``generation`` counts every change to its content (import, erasure)."""

    __tablename__ = "store_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class MediaRow(Base):
    """An image the store shipped as a file (:mod:`shopsense.core.media`), named by its content."""

    __tablename__ = "media"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


STORE_MODELS: dict[str, type[Base]] = {
    "items": ItemRow, "interactions": InteractionRow, "reviews": ReviewRow, "faq": FaqRow,
    "orders": OrderRow, "users": UserRow,
}


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is turned off so that BEGIN is ours (see _sqlite_begin):
    # pysqlite would otherwise start transactions lazily and commit implicitly before some statements.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, crash-safe
        cursor.execute("PRAGMA synchronous=FULL")  # a committed import survives a power cut
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA secure_delete=ON")  # erased personal data is overwritten, not left in free pages
    finally:
        cursor.close()


def _sqlite_begin(conn: Any) -> None:
    options = conn.get_execution_options()
    synchronous = options.get(SQLITE_SYNC_OPTION, "FULL")
    if conn.info.get("synchronous", "FULL") != synchronous:  # the level is the pooled connection's, kept
        conn.exec_driver_sql(f"PRAGMA synchronous={synchronous}")
        conn.info["synchronous"] = synchronous
    conn.exec_driver_sql(options.get(SQLITE_BEGIN_OPTION, "BEGIN"))


def make_engine(url: str, echo: bool = False) -> Engine:
    """An engine for ``url``; for SQLite: WAL journal, ``synchronous=FULL``, foreign keys, a real BEGIN."""
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True)
    engine = create_engine(url, echo=echo)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def create_tables(metadata: MetaData, engine: Engine) -> None:
    """``metadata.create_all`` that is safe when several processes start at once.

    SQLite: inside one BEGIN IMMEDIATE transaction, so the existence check and the CREATE cannot interleave
    with another process's (a read lock upgraded to a write lock would fail at once with "database is
    locked"). Other databases: a concurrent creator may win the race; the retry then finds its tables.
    """
    if set(metadata.tables) <= set(inspect(engine).get_table_names()):
        return  # a reader must not wait for the write lock (an import may hold it for minutes)
    for attempt in range(5):
        try:
            with engine.connect().execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"}) as conn:
                with conn.begin():
                    metadata.create_all(conn)
            return
        except (OperationalError, ProgrammingError, IntegrityError):
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))


# -- DataFrame <-> rows ----------------------------------------------------------------------------------
# How a canonical column is stored; every other canonical column is text.
COLUMN_KINDS: dict[tuple[str, str], str] = {
    ("items", "price"): "float", ("items", "attributes"): "json",
    ("interactions", "timestamp"): "datetime", ("interactions", "value"): "float",
    ("reviews", "rating"): "int", ("reviews", "timestamp"): "datetime",
    ("orders", "created_at"): "datetime", ("orders", "updated_at"): "datetime",
}


def to_utc_series(values: Iterable[Any]) -> pd.Series:
    """Naive-UTC datetimes or ISO strings (SQLite's DATETIME text) as a tz-aware UTC Series. A time outside
    pandas' range (before 1677 or after 2262, stored before the API bounded ``created_at``) becomes NaT
    rather than failing every reader of the table."""
    return pd.to_datetime(pd.Series(list(values), dtype=object), utc=True, format="ISO8601", errors="coerce")


def _is_null(value: Any) -> bool:
    return value is None or (not isinstance(value, dict | list | tuple) and bool(pd.isna(value)))


def _texts(series: pd.Series) -> list[Any]:
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        return series.where(series.notna(), None).tolist()  # all str already: no per-value work
    return [None if _is_null(v) else (v if isinstance(v, str) else str(v)) for v in series.tolist()]


# An extra cell that is NaN/NaT/NA: left out of the row's JSON, while a None is kept as JSON null, so that
# load() can give each back as it came (pandas fills missing object cells with NaN, records give None).
_MISSING = object()


def _json_safe(series: pd.Series) -> list[Any]:
    """An extra column as JSON values (timestamps as ISO strings; missing cells as ``_MISSING``)."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return [_MISSING if pd.isna(v) else v.isoformat() for v in series.tolist()]
    out = []
    for v in series.tolist():
        if v is None:
            out.append(None)
        elif _is_null(v):
            out.append(_MISSING)
        elif isinstance(v, str | bool | int | float | dict | list):
            out.append(v)
        elif hasattr(v, "item"):  # numpy scalars
            out.append(v.item())
        elif isinstance(v, datetime | pd.Timestamp):
            out.append(v.isoformat())
        else:
            out.append(str(v))
    return out


@dataclass
class PreparedTable:
    """One table converted for the database: typed columns, extra-column dtypes, content-hash bytes.

    ``columns`` holds, per column, a Series whose values hash the content: naive-UTC datetime64 for
    timestamps, floats, nullable ints, JSON text for JSON columns (``extra`` included), text otherwise.
    :meth:`rows` turns them into parameters for SQLAlchemy, or straight for the sqlite3 driver.
    """

    name: str
    columns: dict[str, pd.Series]
    objects: dict[str, list[Any]]  # JSON columns as Python objects, for SQLAlchemy's JSON type
    extra_meta: dict[str, str]
    hash_parts: list[bytes]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    def rows(self, raw_sqlite: bool) -> tuple[list[str], list[Any]]:
        """Column names and rows: tuples of sqlite3-ready values, or dicts for SQLAlchemy."""
        lists: dict[str, list[Any]] = {}
        if not len(self):
            return list(self.columns), []
        for col, series in self.columns.items():
            kind = "json" if col == "extra" else COLUMN_KINDS.get((self.name, col), "text")
            if kind == "json" and not raw_sqlite:
                lists[col] = self.objects[col]
                continue
            mask = series.isna().to_numpy()
            if kind == "datetime":
                if raw_sqlite:  # SQLAlchemy's SQLite DATETIME text, so that SQL comparisons stay right
                    values = np.char.replace(np.datetime_as_string(series.to_numpy(), unit="us"), "T", " ")
                else:
                    values = series.array.to_pydatetime()
            else:
                values = series.to_numpy(dtype=object)
            if mask.any():
                values = np.where(mask, None, values)
            lists[col] = values.tolist()
        names = list(lists)
        tuples = zip(*lists.values(), strict=True)
        if raw_sqlite:
            return names, list(tuples)
        return names, [dict(zip(names, t, strict=True)) for t in tuples]


def prepare_table(name: str, frame: pd.DataFrame) -> PreparedTable:
    """Convert one table of a :class:`StoreData` for the database.

    Canonical columns become typed columns (naive UTC datetimes, floats, ints, JSON, text); the other
    columns go into ``extra`` as JSON values, their dtypes recorded so that they read back alike.
    """
    frame = frame.reset_index(drop=True)
    columns: dict[str, pd.Series] = {}
    objects: dict[str, list[Any]] = {}
    for col in TABLE_COLUMNS[name]:
        series = frame[col] if col in frame.columns else pd.Series([None] * len(frame), dtype=object)
        kind = COLUMN_KINDS.get((name, col), "text")
        if kind == "datetime":
            stamps = series if pd.api.types.is_datetime64_any_dtype(series.dtype) else pd.to_datetime(
                series, utc=True, format="ISO8601")
            if stamps.dt.tz is None:  # naive means UTC
                stamps = stamps.dt.tz_localize("UTC")
            columns[col] = stamps.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
        elif kind in ("float", "int"):
            columns[col] = pd.to_numeric(series).astype("float64" if kind == "float" else "Int64")
        elif kind == "json":
            objects[col] = [v if isinstance(v, dict | list) else ({} if _is_null(v) else v) for v in series]
            columns[col] = pd.Series([json.dumps(v, sort_keys=True, default=str) for v in objects[col]],
                                     dtype=object)
        else:
            columns[col] = pd.Series(_texts(series), dtype=object)
    extra_cols = [c for c in frame.columns if c not in TABLE_COLUMNS[name]]
    extra_meta = {str(c): str(frame[c].dtype) for c in extra_cols}
    extras: list[dict[str, Any] | None] = [None] * len(frame)
    if extra_cols:
        lists = {str(c): _json_safe(frame[c]) for c in extra_cols}
        extras = [{k: v for k, v in zip(lists, vals, strict=True) if v is not _MISSING} or None
                  for vals in zip(*lists.values(), strict=True)]
    objects["extra"] = extras
    columns["extra"] = pd.Series([None if e is None else json.dumps(e, sort_keys=True) for e in extras],
                                 dtype=object)
    parts = [json.dumps([name, list(columns), extra_meta, len(frame)]).encode()]
    if len(frame):
        parts.append(pd.util.hash_pandas_object(pd.DataFrame(columns), index=False).to_numpy().tobytes())
    return PreparedTable(name, columns, objects, extra_meta, parts)


def column_from_db(name: str, col: str, values: list[Any]) -> pd.Series:
    """A canonical column read from the database, in its canonical dtype."""
    kind = COLUMN_KINDS.get((name, col), "text")
    if kind == "datetime":
        return to_utc_series(values)
    if kind == "float":
        return pd.Series(values, dtype="float64")
    if kind == "int":
        series = pd.Series(values, dtype="Int64")
        return series.astype("int64") if not series.isna().any() else series
    if kind == "json":
        return pd.Series([v if v is not None else {} for v in values], dtype=object)
    return pd.Series(values, dtype=object)


def extra_from_db(values: list[Any], dtype: str | None) -> pd.Series:
    """An extra column read from ``extra`` JSON, cast back to the dtype it was imported with when it fits."""
    if dtype is None:
        return pd.Series(values) if values else pd.Series(values, dtype=object)
    if dtype.startswith("datetime64"):
        utc = "," in dtype  # "datetime64[ns, UTC]" was tz-aware; UTC is what it is stored as
        stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=utc, format="ISO8601")
        return stamps.dt.tz_convert(dtype.split(",")[1].strip(" ]")) if utc else stamps
    try:
        return pd.Series(values, dtype=object).astype(dtype)
    except (TypeError, ValueError):
        return pd.Series(values) if values else pd.Series(values, dtype=object)
