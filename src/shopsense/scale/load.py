"""Read a store directory (csv / jsonl / parquet) or a store database into Spark, validated like ``import``.

Each Spark partition holds a run of consecutive physical lines (or parquet rows) and is checked by the
single-node code itself (:func:`~shopsense.core.load_readers.read_csv_text`, ``read_jsonl_text``,
:func:`~shopsense.core.load_tables.validate_table`), so the rules, the parsed values and the messages are
the same, each problem naming file, line and column (parquet: ``row N``). What needs the whole table runs on
Spark afterwards with the same messages: keys repeated across partitions, and rows naming an item that is
not in the catalog. A CSV file with a quoted line break in some field is read as one partition (a record must
not straddle two). Only the tables recommenders learn from are read: ``items``, ``interactions``, ``reviews``.

Problems raise :class:`~shopsense.core.loaders.StoreDataError`, as ``shopsense evaluate recommend`` does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shopsense.core.load_readers import RawTable, read_csv_text, read_jsonl_text
from shopsense.core.load_tables import UNIQUE_KEYS, validate_table
from shopsense.core.loaders import StoreDataError
from shopsense.core.validation import Problem, ValidationReport

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TABLES = ("items", "interactions", "reviews")
FORMATS = (".csv", ".jsonl", ".parquet")
_KEEP = {  # the canonical columns carried into Spark (what the jobs need)
    "items": ["item_id", "title", "description", "category", "brand", "price"],
    "interactions": ["user_id", "item_id", "timestamp", "event", "value"],
    "reviews": ["review_id", "user_id", "item_id", "rating", "text", "title", "timestamp"],
}
_SCHEMA = {
    "items": "item_id string, title string, description string, category string, brand string, price double",
    "interactions": "user_id string, item_id string, _ts double, event string, value double",
    "reviews": "review_id string, user_id string, item_id string, rating double, text string, title string, "
               "_ts double",
}
_TAIL = "_line long, _row long, _generated boolean, _problem string"
MAX_PROBLEMS = 1000


@dataclass
class SparkStore:
    """The tables recommenders learn from, as Spark DataFrames.

    ``interactions`` is :meth:`StoreData.all_interactions` (interactions plus one ``rating`` per review):
    ``user_id, item_id, _ts`` (unix seconds, null when missing), ``event, value`` and ``_src, _pos`` (table and
    position in it: the order ties are broken in). ``items`` has the canonical text columns and ``price``.
    """

    items: DataFrame
    interactions: DataFrame
    reviews: DataFrame
    source: str


def _problem_json(p: Problem) -> str:
    return json.dumps(asdict(p))


def _validated(name: str, display: str, kind: str, header: str | None):
    """The mapInPandas function checking one partition of table ``name`` (see module docstring)."""
    from shopsense.recommend.dataset import _to_seconds

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        chunk = pd.concat(list(batches), ignore_index=True)
        if chunk.empty:
            return
        raw = RawTable(file=display, table=name)
        if kind == "parquet":
            positions = chunk.pop("_pos").to_numpy(np.int64)
            raw.frame, raw.rows_read, raw.lines = chunk, len(chunk), None
            raw.rows = positions + 1
        else:
            first = int(chunk["_pos"].iat[0]) + 1  # physical line of the partition's first line
            body = chunk["value"].tolist()
            if kind == "csv":
                if first == 1:
                    body, first = body[1:], 2
                if not body:
                    return
                read_csv_text(header + "\n" + "\n".join(body) + "\n", [], raw)
                shift = first - 2  # the header is line 1 of the text parsed here
            else:
                read_jsonl_text("\n".join(body), [], raw)
                shift = first - 1
            raw.lines = raw.lines + shift
            raw.rows = raw.lines - (1 if kind == "csv" else 0)
            raw.header_line = 1 if kind == "csv" else None
            raw.problems = [replace(p, line=None if p.line is None else p.line + shift,
                                    row=None if p.row is None else p.row + shift) for p in raw.problems]
        given = raw.frame.get("review_id")
        load = validate_table(raw, name)
        problems = [_problem_json(p) for p in load.problems]
        frame = load.frame
        out = pd.DataFrame({c: frame[c] for c in _KEEP[name] if c != "timestamp"})
        if "timestamp" in _KEEP[name]:
            out["_ts"] = _to_seconds(frame["timestamp"])
        if name == "reviews":
            out["rating"] = frame["rating"].astype("float64")
        if name == "items":
            out["price"] = pd.to_numeric(frame["price"], errors="coerce").astype("float64")
        out["_line"] = load.lines if load.lines is not None else pd.NA
        out["_row"] = load.rows
        generated = np.zeros(len(frame), dtype=bool)
        if name == "reviews":
            if given is None:
                generated[:] = True
            else:
                blank = given.isna().to_numpy() | (given.astype(str).str.strip() == "").to_numpy()
                kept = np.searchsorted(raw.rows, load.rows)
                generated = blank[kept]
        out["_generated"] = generated
        out["_problem"] = None
        extra = [_problem_json(replace(p, message="\x00rejected:" + item_id))
                 for item_id, p in load.rejected_ids.items()]  # where a rejected item was rejected
        tail = pd.DataFrame({"_problem": problems + extra})
        yield pd.concat([out, tail], ignore_index=True) if len(tail) else out

    return run


def _discover(root: Path) -> tuple[dict[str, Path], list[Problem]]:
    found: dict[str, list[Path]] = {}
    for entry in sorted(root.iterdir()):
        stem, dot, suffix = entry.name.partition(".")
        if stem in TABLES and dot + suffix in FORMATS:
            found.setdefault(stem, []).append(entry)
    problems = []
    files = {}
    for table, paths in found.items():
        if len(paths) > 1:
            names = " and ".join(p.name for p in paths)
            problems.append(Problem(paths[1].name, None, None, f"table {table!r} is given twice ({names}); keep "
                                    "one file per table. Neither is read", table=table, reason="two files"))
        else:
            files[table] = paths[0]
    if "items" not in files:
        problems.append(Problem("items", None, None, "the items table is required (items.csv, items.jsonl or "
                                "items.parquet)", table="items", reason="missing table"))
    if "interactions" not in files and "reviews" not in files:
        problems.append(Problem("interactions", None, None, "no interactions or reviews table: recommendations "
                                "cannot be trained", reason="missing table"))
    return files, problems


def _read_table(spark: SparkSession, path: Path, name: str) -> DataFrame:
    from pyspark.sql import functions as F

    kind = path.suffix.lstrip(".")
    if kind == "parquet":
        frame = spark.read.parquet(str(path))
        indexed = frame.rdd.zipWithIndex().map(lambda r: (*r[0], r[1]))
        raw = spark.createDataFrame(indexed, frame.schema.add("_pos", "long"))
        header = None
    else:
        lines = spark.read.text(str(path))
        header = lines.first()["value"] if kind == "csv" else None
        if kind == "csv" and not lines.filter(F.size(F.split("value", '"')) % 2 == 0).isEmpty():
            lines = lines.coalesce(1)  # a quoted line break: records must not straddle partitions
        indexed = lines.rdd.zipWithIndex().map(lambda r: (r[0][0], r[1]))
        raw = spark.createDataFrame(indexed, "value string, _pos long")
    return raw.mapInPandas(_validated(name, path.name, kind, header), f"{_SCHEMA[name]}, {_TAIL}")


def _whole_table_problems(tables: dict[str, DataFrame], files: dict[str, Path]) -> DataFrame | None:
    """Keys repeated across partitions, and rows naming an unknown item (Spark; the single-node messages)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    out = []
    for name, frame in tables.items():
        key = UNIQUE_KEYS.get(name)
        if not key:
            continue
        kept = frame.filter(F.col("_problem").isNull())
        w = Window.partitionBy(*key).orderBy("_row")
        ranked = kept.withColumn("_n", F.row_number().over(w)).withColumn("_first", F.first("_line").over(w)) \
            .withColumn("_first_row", F.first("_row").over(w)).filter(F.col("_n") > 1)
        where = F.when(F.col("_first").isNotNull(), F.concat(F.lit("line "), F.col("_first").cast("string"))) \
            .otherwise(F.concat(F.lit("row "), F.col("_first_row").cast("string")))
        what = F.when(F.col("_generated"), F.lit("same user, item, time and text as the review on")) \
            .otherwise(F.lit("already used on")) if name == "reviews" else F.lit("already used on")
        shown = F.concat(*[F.concat(F.lit(f"{c} '"), F.col(c), F.lit("'")) for c in key])
        out.append(ranked.select(F.lit(files[name].name).alias("file"), "_line", "_row",
                                 F.lit(",".join(key)).alias("column"),
                                 F.concat(F.lit("duplicate "), shown, F.lit(": "), what, F.lit(" "), where)
                                 .alias("message"), F.lit("duplicate id").alias("reason"),
                                 F.lit(name).alias("table"), F.col(key[0]).alias("_key")))
    if "items" in tables:
        known = tables["items"].filter(F.col("_problem").isNull()).select("item_id").distinct()
        for name in ("interactions", "reviews"):
            if name not in tables:
                continue
            unknown = tables[name].filter(F.col("_problem").isNull()).join(known, "item_id", "left_anti")
            out.append(unknown.select(F.lit(files[name].name).alias("file"), "_line", "_row",
                                      F.lit("item_id").alias("column"),
                                      F.concat(F.lit("item_id '"), F.col("item_id"),
                                               F.lit(f"' is not in {files['items'].name}")).alias("message"),
                                      F.lit("unknown item").alias("reason"), F.lit(name).alias("table"),
                                      F.col("item_id").alias("_key")))
    if not out:
        return None
    union = out[0]
    for frame in out[1:]:
        union = union.unionByName(frame)
    return union


def read_store_dir(spark: SparkSession, path: str | Path) -> SparkStore:
    """Read and validate a store directory; raises :class:`StoreDataError` listing every error found."""
    from pyspark.sql import functions as F

    root = Path(path)
    if not root.is_dir():
        raise NotADirectoryError(f"not a store directory: {root}")
    files, problems = _discover(root)
    tables = {name: _read_table(spark, p, name).cache() for name, p in files.items()}
    for frame in tables.values():
        for row in frame.filter(F.col("_problem").isNotNull()).limit(MAX_PROBLEMS).collect():
            p = Problem(**json.loads(row["_problem"]))
            if not p.message.startswith("\x00rejected:"):
                problems.append(p)
    whole = _whole_table_problems(tables, files)
    if whole is not None:
        for r in whole.limit(MAX_PROBLEMS).collect():
            line = None if r["_line"] is None else int(r["_line"])
            problems.append(Problem(r["file"], line, r["column"], r["message"], table=r["table"],
                                    row=int(r["_row"]), reason=r["reason"]))
    report = ValidationReport(tables={}, problems=sorted(
        problems, key=lambda p: (p.file, p.line if p.line is not None else (p.row if p.row is not None else -1))))
    if report.errors:
        for frame in tables.values():
            frame.unpersist()
        raise StoreDataError(report)
    return _assemble(tables, str(root.resolve()))


def _assemble(tables: dict[str, DataFrame], source: str) -> SparkStore:
    from pyspark.sql import functions as F

    empty = {"interactions": "user_id string, item_id string, _ts double, event string, value double",
             "reviews": _SCHEMA["reviews"]}
    spark = next(iter(tables.values())).sparkSession
    clean = {name: f.filter(F.col("_problem").isNull()) for name, f in tables.items()}
    inter = clean.get("interactions")
    reviews = clean.get("reviews")
    parts = []
    if inter is not None:
        parts.append(inter.select("user_id", "item_id", "_ts", F.coalesce("event", F.lit("purchase")).alias("event"),
                                  "value", F.lit(0).alias("_src"), F.col("_row").alias("_pos")))
    if reviews is not None:
        parts.append(reviews.select("user_id", "item_id", "_ts", F.lit("rating").alias("event"),
                                    F.col("rating").alias("value"), F.lit(1).alias("_src"),
                                    F.col("_row").alias("_pos")))
    union = parts[0]
    for p in parts[1:]:
        union = union.unionByName(p)
    return SparkStore(items=clean["items"].select(*_KEEP["items"]), interactions=union,
                      reviews=reviews if reviews is not None else spark.createDataFrame([], empty["reviews"]),
                      source=source)


def read_store_db(spark: SparkSession, url: str) -> SparkStore:
    """The store behind a SQLAlchemy ``url`` (``shopsense import`` already validated it) as Spark tables.

    Read on the driver through SQLAlchemy in one snapshot, then distributed (a JDBC read would need a
    driver jar on every executor; the store database is not the part that outgrows one machine).
    """
    from shopsense.core.store import Store

    with Store(url) as store:
        data = store.load()
    return from_store_data(spark, data, source=url.split("@")[-1])


def from_store_data(spark: SparkSession, data, source: str = "memory") -> SparkStore:
    """A :class:`~shopsense.core.records.StoreData` already in memory, as Spark tables."""
    from shopsense.recommend.dataset import _to_seconds

    items = data.items.reindex(columns=_KEEP["items"])
    items = items.astype({c: object for c in _KEEP["items"] if c != "price"}).where(items.notna(), None)
    items["price"] = pd.to_numeric(items["price"], errors="coerce")
    inter = pd.DataFrame({"user_id": data.interactions["user_id"].astype(str),
                          "item_id": data.interactions["item_id"].astype(str),
                          "_ts": _to_seconds(data.interactions["timestamp"]),
                          "event": data.interactions["event"].fillna("purchase").astype(str),
                          "value": pd.to_numeric(data.interactions["value"], errors="coerce").astype("float64"),
                          "_src": 0, "_pos": np.arange(1, len(data.interactions) + 1)})
    rev = data.reviews
    reviews = pd.DataFrame({"review_id": rev["review_id"].astype(str), "user_id": rev["user_id"].astype(str),
                            "item_id": rev["item_id"].astype(str), "rating": rev["rating"].astype("float64"),
                            "text": rev["text"].astype(str), "title": rev["title"].fillna("").astype(str),
                            "_ts": _to_seconds(rev["timestamp"])})
    from_reviews = pd.DataFrame({"user_id": reviews["user_id"], "item_id": reviews["item_id"], "_ts": reviews["_ts"],
                                 "event": "rating", "value": reviews["rating"], "_src": 1,
                                 "_pos": np.arange(1, len(rev) + 1)})
    both = pd.concat([inter, from_reviews], ignore_index=True)
    schema = "user_id string, item_id string, _ts double, event string, value double, _src int, _pos long"
    return SparkStore(items=spark.createDataFrame(items, _SCHEMA["items"]),
                      interactions=spark.createDataFrame(both, schema),
                      reviews=spark.createDataFrame(reviews, _SCHEMA["reviews"]), source=source)
