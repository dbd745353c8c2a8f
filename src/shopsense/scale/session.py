"""The Spark session every job runs in: ``local[2]`` here, whatever ``spark-submit`` gives on a cluster.

:func:`spark_session` returns the active session when there is one (``spark-submit`` made it, or a test
fixture did), else builds one for ``master``. Shuffles are small on one machine, so the number of shuffle
partitions defaults to a few per core rather than Spark's 200. :func:`where` says where the job runs, for
the line every command prints first.
"""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[2]"


class SparkUnavailable(RuntimeError):
    """pyspark or a Java runtime is missing: the message says what to install."""


def _cores(master: str) -> int:
    m = re.fullmatch(r"local\[(\d+|\*)(?:,\d+)?\]", master)
    if m:
        return os.cpu_count() or 2 if m.group(1) == "*" else int(m.group(1))
    return 8 if master != "local" else 1


def spark_session(master: str | None = None, app_name: str = "shopsense", *,
                  shuffle_partitions: int | None = None, local_dir: str | None = None,
                  conf: dict[str, Any] | None = None) -> SparkSession:
    """The active session, or a new one on ``master`` (default ``local[2]``)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise SparkUnavailable("pyspark is not installed: pip install 'shopsense[scale]'") from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    master = master or DEFAULT_MASTER
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors run this interpreter (its packages)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.sql.shuffle.partitions", str(shuffle_partitions or 2 * _cores(master)))
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.showConsoleProgress", "true")
               .config("spark.driver.memory", os.environ.get("SHOPSENSE_SPARK_DRIVER_MEMORY", "4g")))
    if local_dir:
        builder = builder.config("spark.local.dir", local_dir)
    for key, value in (conf or {}).items():
        builder = builder.config(key, str(value))
    try:
        return builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - py4j reports a missing JVM in several ways
        if "JAVA" in str(exc).upper():
            raise SparkUnavailable(f"Spark could not start a Java runtime ({exc}); install one: "
                                   "apt-get install default-jre-headless") from exc
        raise


def where(spark: SparkSession) -> str:
    """``Spark 4.0.1 on local[2] (app local-123, UI http://...)``: printed by every scale command."""
    sc = spark.sparkContext
    ui = sc.uiWebUrl or "no UI"
    return f"Spark {spark.version} on {sc.master} (app {sc.applicationId}, {sc.defaultParallelism} cores, {ui})"
