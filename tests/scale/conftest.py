"""Fixtures of the Spark tests: one local Spark session per test process (after Microsoft Recommenders'
``spark`` fixture: ``local[2]``, few shuffle partitions, a temporary ``spark.local.dir``), and the Gift Cards
and Musical Instruments benchmark stores built from ../shared/data.

Every test here carries the ``spark`` marker (``-m spark`` selects them) and the xdist group ``spark``, so
that under ``pytest -n 2 --dist loadgroup`` one worker runs them all in one JVM.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.spark)
            item.add_marker(pytest.mark.xdist_group("spark"))


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'shopsense[scale]'); "
                                          "`make test` installs it")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime (apt-get install default-jre-headless); `make test` installs it")
    from shopsense.scale.session import spark_session

    session = spark_session("local[2]", "shopsense-tests", shuffle_partitions=4,
                            local_dir=str(tmp_path_factory.mktemp("spark-local")),
                            conf={"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
                                  "spark.default.parallelism": "4", "spark.driver.memory": "2g",
                                  "spark.sql.execution.arrow.maxRecordsPerBatch": "2048"})
    session.sparkContext.setLogLevel("ERROR")
    # py4j logs its connections closing at interpreter exit, after pytest has closed the log streams
    logging.getLogger("py4j").setLevel(logging.WARNING)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def bench_stores(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Store directories of the Gift Cards and Musical Instruments 5-core sets (scripts/build_benchmark_stores.py)."""
    out = tmp_path_factory.mktemp("scale-stores")
    for only in ("gift-cards", "musical-instruments"):
        done = subprocess.run([sys.executable, str(REPO / "scripts" / "build_benchmark_stores.py"), "--source",
                               str(shared_data), "--out", str(out), "--only", only], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    return out


