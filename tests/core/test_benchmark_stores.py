"""scripts/build_benchmark_stores.py: real benchmark sets -> store directories with the published counts."""

from __future__ import annotations

import filecmp
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from shopsense.core.records import Interaction, Item, Review

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "build_benchmark_stores.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False)


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def stores(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("benchmark-stores")
    done = run("--source", str(shared_data), "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def test_musical_instruments(stores: Path) -> None:
    folder = stores / "musical-instruments"
    reviews, items = read(folder / "reviews.csv"), read(folder / "items.csv")
    assert (len(reviews), reviews["user_id"].nunique(), reviews["item_id"].nunique()) == (10_261, 1_429, 900)
    assert len(items) == 900 and set(reviews["item_id"]) == set(items["item_id"])
    assert (items["title"] == "Item " + items["item_id"]).all()  # no titles exist offline, and it says so
    assert set(reviews["rating"]) <= {"1", "2", "3", "4", "5"} and (reviews["text"] != "").all()
    assert "reviewerName" not in reviews.columns
    assert "No item metadata exists offline" in (folder / "SOURCE.md").read_text()
    for row in reviews.head(200).to_dict("records"):
        Review(**row)


def test_gift_cards(stores: Path) -> None:
    folder = stores / "gift-cards"
    reviews, items = read(folder / "reviews.csv"), read(folder / "items.csv")
    assert (len(reviews), reviews["user_id"].nunique(), reviews["item_id"].nunique()) == (2_972, 458, 148)
    assert reviews["review_id"].is_unique
    assert reviews.duplicated(["user_id", "item_id"]).sum() == 7  # kept, as documented
    assert len(items) == 148 and set(reviews["item_id"]) == set(items["item_id"])
    assert not items["title"].str.startswith("Item ").any() and (items["title"] != "").all()
    assert (items.loc[items["price"] != "", "currency"] == "USD").all()
    assert set(items["category"]) == {"Gift Cards"}
    for row in items.to_dict("records"):
        Item(**{**row, "attributes": json.loads(row["attributes"]), "price": row["price"] or None})
    assert "7 user-item pairs appear twice" in (folder / "SOURCE.md").read_text()


def test_movielens_small(stores: Path) -> None:
    folder = stores / "movielens-small"
    interactions, items = read(folder / "interactions.csv"), read(folder / "items.csv")
    assert (len(interactions), interactions["user_id"].nunique()) == (100_836, 610)
    assert len(items) == items["item_id"].nunique() == 9_742
    assert set(interactions["item_id"]) <= set(items["item_id"])
    assert set(interactions["event"]) == {"rating"}
    values = interactions["value"].astype(float)
    assert values.between(0.5, 5).all() and ((values * 2) % 1 == 0).all()
    toy_story = items.set_index("item_id").loc["1"]
    assert toy_story["title"] == "Toy Story (1995)"
    assert toy_story["category"] == "Movies > Adventure|Animation|Children|Comedy|Fantasy"
    assert json.loads(toy_story["attributes"])["year"] == 1995
    assert "pixar" in toy_story["description"]
    assert not (folder / "reviews.csv").exists() and (folder / "README.txt").exists()
    for row in interactions.head(200).to_dict("records"):
        Interaction(**row)


def test_conversion_is_deterministic(shared_data: Path, stores: Path, tmp_path: Path) -> None:
    done = run("--source", str(shared_data), "--out", str(tmp_path), "--only", "gift-cards")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gift-cards"]
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "gift-cards", stores / "gift-cards",
                                               ["items.csv", "reviews.csv", "SOURCE.md"], shallow=False)
    assert (mismatch, errors) == ([], [])


def test_a_copy_with_a_missing_row_fails_loudly(shared_data: Path, tmp_path: Path) -> None:
    source = tmp_path / "data" / "amazon-gift-cards-5core"
    shutil.copytree(shared_data / "amazon-gift-cards-5core", source)
    with gzip.open(source / "Gift_Cards_5.json.gz", "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    (source / "Gift_Cards_5.json.gz").unlink()
    with gzip.open(source / "Gift_Cards_5.json.gz", "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines[:-1]) + "\n")
    done = run("--source", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--only", "gift-cards")
    assert done.returncode != 0
    assert "published figures are 2972 / 458 / 148" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "gift-cards").exists()


def test_missing_source_folder_is_a_clean_error(tmp_path: Path) -> None:
    done = run("--source", str(tmp_path), "--out", str(tmp_path / "out"), "--only", "movielens-small")
    assert done.returncode != 0
    assert "movies.csv not found" in done.stderr and "Traceback" not in done.stderr
