"""``shopsense import`` and ``shopsense demo`` end to end: files in, database out, clean errors."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from shopsense.cli import app
from shopsense.cli.store import demo_store_dir
from shopsense.core.loaders import load_store_dir
from shopsense.core.preprocess import prepare_store
from shopsense.core.records import StoreData
from shopsense.core.store import Store

REPO = Path(__file__).resolve().parents[2]
GOOD = REPO / "tests" / "data" / "good_store"
SHOPSENSE = Path(sys.executable).parent / "shopsense"

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPSENSE_DATABASE_URL", raising=False)
    monkeypatch.delenv("SHOPSENSE_HOME", raising=False)


def _store(home: Path) -> Store:
    return Store(f"sqlite:///{home / 'store.db'}")


def _broken_store(root: Path) -> Path:
    """A store directory with two bad rows at known places."""
    root.mkdir()
    (root / "items.csv").write_text("item_id,title,price\ni1,Kite,9.99\ni2,Yo-yo,cheap\n", encoding="utf-8")
    (root / "interactions.csv").write_text(
        "user_id,item_id,timestamp\nu1,i1,2024-01-01T10:00:00Z\nu1,i1,last tuesday\n", encoding="utf-8")
    return root


def _printed_counts(stdout: str) -> dict[str, int]:
    """The rows column of the printed table, by table name."""
    counts = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 3 and cells[1].replace(",", "").isdigit():
            counts[cells[0]] = int(cells[1].replace(",", ""))
    return counts


def _expected(directory: Path) -> StoreData:
    return prepare_store(load_store_dir(directory).store)[0]


def _shoppers(data: StoreData) -> int:
    """Distinct user ids over every table that names shoppers (what ``import`` prints as ``shoppers``)."""
    tables = (data.users, data.interactions, data.reviews, data.orders)
    return len(set().union(*(set(t["user_id"].astype(str)) for t in tables)))


def test_import_good_store_end_to_end(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    result = runner.invoke(app, ["import", str(GOOD), "--home", str(home)])
    assert result.exit_code == 0, result.output
    expected = _expected(GOOD)
    assert _printed_counts(result.stdout) == {**expected.counts(), "events": 0, "shoppers": _shoppers(expected)}
    assert "imported into" in result.stdout and "personal data masked" in result.stdout
    with _store(home) as store:
        back = store.load()
        assert store.last_import()["source"] == str(GOOD.resolve())
    for name in StoreData.TABLES:  # exactly what the loaders and the preparation made of the files
        pd.testing.assert_frame_equal(back.table(name), expected.table(name).reset_index(drop=True), obj=name)

    again = runner.invoke(app, ["import", str(GOOD), "--home", str(home)])
    assert again.exit_code == 0 and "unchanged" in again.stdout
    runs = sqlite3.connect(home / "store.db").execute("SELECT count(*) FROM import_runs").fetchone()[0]
    assert runs == 1


def test_broken_store_exits_1_with_located_errors_and_leaves_the_store(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert runner.invoke(app, ["import", str(GOOD), "--home", str(home)]).exit_code == 0
    with _store(home) as store:
        before = store.counts()
    broken = _broken_store(tmp_path / "broken")
    # a real process: what the user sees, and proof that no traceback escapes
    proc = subprocess.run([str(SHOPSENSE), "import", str(broken), "--home", str(home)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "items.csv:3:price: price 'cheap' is not a number" in proc.stderr
    assert "interactions.csv:3:timestamp:" in proc.stderr
    assert "nothing was imported" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    with _store(home) as store:
        assert store.counts() == before
        assert store.last_import()["source"] == str(GOOD.resolve())


def test_skip_invalid_imports_the_rows_that_passed(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    broken = _broken_store(tmp_path / "broken")
    result = runner.invoke(app, ["import", str(broken), "--home", str(home), "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert "items.csv:3:price:" in result.stderr
    with _store(home) as store:
        data = store.load()
    assert list(data.items["item_id"]) == ["i1"] and len(data.interactions) == 1


def test_missing_directory_is_a_clean_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(tmp_path / "nope"), "--home", str(tmp_path / "ws")])
    assert result.exit_code == 1
    assert "store directory not found" in result.stderr and result.exception is not None
    assert isinstance(result.exception, SystemExit)  # not a traceback


def test_database_url_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "shared.db"
    monkeypatch.setenv("SHOPSENSE_DATABASE_URL", f"sqlite:///{db}")
    result = runner.invoke(app, ["import", str(GOOD), "--home", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    with Store(f"sqlite:///{db}") as store:
        assert store.counts()["items"] == len(_expected(GOOD).items)
    assert not (tmp_path / "ws" / "store.db").exists()


def test_import_of_the_bundled_demo_store(tmp_path: Path) -> None:
    # `shopsense demo` = this import + training + serving; training and serving are covered in tests/api.
    assert (demo_store_dir() / "items.csv").is_file(), "the bundled demo store is package data: it must be there"
    home = tmp_path / "ws"
    proc = subprocess.run([str(SHOPSENSE), "import", str(demo_store_dir()), "--home", str(home)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    expected = _expected(demo_store_dir())
    with _store(home) as store:
        assert {k: v for k, v in store.counts().items() if k != "events"} == expected.counts()
    assert _printed_counts(proc.stdout) == {**expected.counts(), "events": 0, "shoppers": _shoppers(expected)}
    assert _shoppers(expected) == 1356  # the demo store lists no users table: "users 0" told nothing
    again = runner.invoke(app, ["import", str(demo_store_dir()), "--home", str(home)])
    assert again.exit_code == 0 and "unchanged" in again.stdout
