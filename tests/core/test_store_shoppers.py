"""Shoppers are counted from every table that names them, not from the optional users table alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from shopsense.cli import app
from shopsense.core.loaders import load_store_dir_strict
from shopsense.core.store import Store, import_directory

GOOD = Path(__file__).resolve().parents[1] / "data" / "good_store"


def test_shoppers_come_from_every_table_and_the_event_log(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    shutil.copytree(GOOD, folder)
    (folder / "users.csv").unlink()  # a store that lists no users table
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        import_directory(folder, store)
        data = store.load()
        named = set()
        for table in (data.interactions, data.reviews, data.orders):
            named |= set(table["user_id"].astype(str))
        assert store.counts()["users"] == 0 and len(named) >= 3
        assert store.shoppers() == len(named)
        store.append_events([{"event_id": "e-new", "user_id": "only-browsed", "type": "view"}])
        assert store.shoppers() == len(named) + 1


def test_import_prints_the_shopper_count(tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["import", str(GOOD), "--home", str(tmp_path / "home")])
    assert done.exit_code == 0, done.output
    store = load_store_dir_strict(GOOD)
    n = len(pd.concat([store.users["user_id"], store.interactions["user_id"], store.reviews["user_id"],
                       store.orders["user_id"]]).astype(str).unique())
    assert any(line.split()[:3] == ["│", "shoppers", "│"] and f"{n:,}" in line for line in done.output.splitlines()), \
        done.output
