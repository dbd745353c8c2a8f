"""The bundled ToyNest demo store: rebuilt byte-identical, counts as documented, no reviewer names."""

from __future__ import annotations

import filecmp
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

from shopsense.core import loaders
from shopsense.core.records import FaqEntry, Interaction, Item, Order, Review
from shopsense.data import DEMO_STORE_DIR, demo_store_path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "scripts" / "build_demo_store.py"
CATALOG = "amazon-uk-toys-catalog/toys_uk_863.csv"
BITEXT = "bitext_customer_support_training_4.5k.csv"
# Amazon's stand-ins for a name: many different people, never one shopper.
GENERIC = {"amazon customer", "a customer", "kindle customer", "pen name", "customer", "shopper",
           "amazon shopper"}


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(DEMO_STORE_DIR / name, dtype=str, keep_default_na=False)


def output_files() -> list[Path]:
    return sorted(p for p in DEMO_STORE_DIR.rglob("*") if p.is_file())


def raw_reviews(shared: Path) -> list[dict[str, str]]:
    """Reviews straight from the catalog, parsed here independently of the build script."""
    catalog = pd.read_csv(shared / CATALOG, dtype=str, keep_default_na=False)
    found = []
    for product_id, field in zip(catalog["product_id"], catalog["customer_reviews"], strict=True):
        for part in field.split(" | ") if field else []:
            fields = part.split(" // ")
            if len(fields) < 4:
                continue
            author = re.match(r"By\s*\n\s*(\S[^\n]*?)\s*\n", fields[3])
            found.append({"item_id": "toy_" + product_id[:12], "title": fields[0].strip(),
                          "date": fields[2].strip(), "author": author.group(1).strip() if author else ""})
    return found


def iso_day(text: str) -> str:
    """'3 Jun. 2016' / '21 April 2010' / '1 Sept. 2015' -> '2016-06-03'; '' when cut off."""
    match = re.fullmatch(r"(\d{1,2}) ([A-Za-z]{3})[A-Za-z]*\.? (\d{4})", text)
    if not match:
        return ""
    month = "janfebmaraprmayjunjulaugsepoctnovdec".index(match.group(2).lower()) // 3 + 1
    return f"{match.group(3)}-{month:02d}-{int(match.group(1)):02d}"


def test_demo_store_is_found_in_the_package() -> None:
    assert demo_store_path() == DEMO_STORE_DIR
    assert {"items.csv", "reviews.csv", "interactions.csv", "orders.csv", "faq.csv", "SOURCE.md",
            "LICENSE.md"} <= {p.name for p in DEMO_STORE_DIR.iterdir()}
    assert sorted(p.name for p in (DEMO_STORE_DIR / "policies").iterdir()) == [
        "payments.md", "privacy.md", "returns.md", "shipping.md"]
    assert sum(p.stat().st_size for p in output_files()) < 3_000_000


def test_committed_store_equals_a_fresh_build(shared_data: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "demo_store"
    done = subprocess.run([sys.executable, str(BUILD), "--source", str(shared_data), "--out", str(fresh)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    committed = {p.relative_to(DEMO_STORE_DIR).as_posix() for p in output_files()}
    built = {p.relative_to(fresh).as_posix() for p in fresh.rglob("*") if p.is_file()}
    assert built == committed
    differing = [name for name in sorted(built) if not filecmp.cmp(fresh / name, DEMO_STORE_DIR / name,
                                                                   shallow=False)]
    assert differing == [], f"rebuild the demo store: {differing} changed"


def test_missing_source_is_a_clean_error(tmp_path: Path) -> None:
    command = [sys.executable, str(BUILD), "--source", str(tmp_path), "--out", str(tmp_path / "o")]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "toys_uk_863.csv not found" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "o").exists()


def test_counts_are_as_documented() -> None:
    items, reviews, interactions, orders = (read(n) for n in ("items.csv", "reviews.csv", "interactions.csv",
                                                               "orders.csv"))
    assert len(items) == items["item_id"].nunique() == 863
    assert len(reviews) == reviews["review_id"].nunique() == 1413
    assert len(interactions) == 1413 and set(interactions["event"]) == {"purchase"}
    assert (orders["origin"] == "review").sum() == 1413
    assert (orders["origin"] == "synthetic-demo").sum() == 6
    assert orders["order_id"].is_unique and orders["order_id"].str.fullmatch(r"ORD-\d{6}").all()
    source = (DEMO_STORE_DIR / "SOURCE.md").read_text()
    for phrase in ("**items.csv** (863 rows", "**reviews.csv** (1413 rows", "**orders.csv** (1419 rows",
                   "CC BY-SA 4.0", "CDLA-Sharing-1.0"):
        assert phrase in source


def test_no_reviewer_name_appears_in_the_output(shared_data: Path) -> None:
    """Every author string of the source (full or cut off by the crawl) occurs as words in the output no
    more often than it occurs in the source's own non-author text (a puppet called "Sarah" stays)."""
    catalog_text = (shared_data / CATALOG).read_text(encoding="utf-8")
    authors = {a.strip() for a in re.findall(r"By\s*\n\s*(\S[^\n|/]*)", catalog_text)}
    content = re.sub(r"By\s*\n\s*\S[^\n|/]*", " ", catalog_text)
    content += (shared_data / "bitext-customer-support" / BITEXT).read_text(encoding="utf-8")
    words = re.findall(r"\w+", "\n".join(p.read_text(encoding="utf-8") for p in output_files()))
    starts: dict[str, list[int]] = defaultdict(list)
    for position, word in enumerate(words):
        starts[word].append(position)
    checked, leaked = 0, []
    for author in sorted(authors):
        name = tuple(re.findall(r"\w+", author))
        if sum(map(len, name)) < 4 or author.lower() in GENERIC:
            continue
        checked += 1
        in_output = sum(tuple(words[i:i + len(name)]) == name for i in starts.get(name[0], []))
        if in_output > content.count(author):
            leaked.append(author)
    assert checked > 1000
    assert leaked == []


def test_generic_names_are_different_users_and_real_names_one_user(shared_data: Path) -> None:
    reviews = read("reviews.csv")
    reviews["date"] = reviews["timestamp"].str[:10]
    by_key = reviews.groupby(["item_id", "title", "date"])["user_id"].apply(list).to_dict()
    per_user = reviews["user_id"].value_counts()
    by_author: dict[str, list[str]] = defaultdict(list)
    generic_users = []
    for raw in raw_reviews(shared_data):
        users = by_key.get((raw["item_id"], raw["title"], iso_day(raw["date"])), [])
        if len(users) != 1 or not raw["author"]:
            continue
        if raw["author"].lower() in GENERIC:
            generic_users.append(users[0])
        else:
            by_author[raw["author"].lower()].append(users[0])
    assert len(generic_users) >= 95
    assert len(set(generic_users)) == len(generic_users)
    assert all(per_user[u] == 1 for u in generic_users)
    repeat = {name: users for name, users in by_author.items() if len(users) >= 2}
    assert len(repeat) >= 30
    assert all(len(set(users)) == 1 for users in repeat.values())
    assert len({users[0] for users in repeat.values()}) == len(repeat)
    assert reviews["user_id"].str.fullmatch(r"u_[0-9a-f]{12}").all()


def test_every_row_is_a_valid_record_and_references_resolve() -> None:
    items, reviews, interactions, orders, faq = (
        read(n) for n in ("items.csv", "reviews.csv", "interactions.csv", "orders.csv", "faq.csv"))
    for row in items.to_dict("records"):
        Item(**{**row, "attributes": json.loads(row["attributes"]), "price": row["price"] or None})
    for row in reviews.to_dict("records"):
        Review(**row)
    for row in interactions.to_dict("records"):
        Interaction(**{**row, "value": None})
    for row in orders.to_dict("records"):
        Order(**row)
    for row in faq.to_dict("records"):
        FaqEntry(**row)
    item_ids = set(items["item_id"])
    for table in (reviews, interactions, orders):
        assert set(table["item_id"]) <= item_ids
    assert set(orders["user_id"]) <= set(reviews["user_id"])
    # Each derived order is bought before, and delivered by, the review it comes from.
    derived = orders[orders["origin"] == "review"].merge(reviews, on="review_id", suffixes=("", "_review"))
    assert len(derived) == 1413
    assert (derived["user_id"] == derived["user_id_review"]).all()
    assert (derived["created_at"] < derived["updated_at"]).all()
    assert (derived["updated_at"] <= derived["timestamp"]).all()
    lag = pd.to_datetime(derived["timestamp"]) - pd.to_datetime(derived["created_at"])
    assert lag.between(pd.Timedelta(hours=2), pd.Timedelta(days=14)).all()
    assert (orders.loc[orders["origin"] == "review", "status"] == "delivered").all()


def test_faq_and_policies_are_filled_and_cited() -> None:
    faq = read("faq.csv")
    assert len(faq) >= 20 and faq["faq_id"].is_unique
    assert faq["source"].str.fullmatch(r"bitext-customer-support/[a-z_]+").all()
    texts = [*faq["question"], *faq["answer"], *faq["alt_questions"]]
    texts += [p.read_text() for p in (DEMO_STORE_DIR / "policies").glob("*.md")]
    for text in texts:
        assert "{{" not in text and "}}" not in text
        assert not re.search(r"\[[A-Z][A-Za-z ]+\]", text), text  # an unfilled "[Customer Support ...]"
        assert "24/7" not in text and "@" not in text
        assert not re.search(r"\+?\d[\d ]{8,}\d", text), text  # no phone numbers
    questions = set(faq["source"].str.split("/").str[1])
    assert {"track_order", "cancel_order", "check_refund_policy", "delivery_options"} <= questions
    refund = faq.loc[faq["source"] == "bitext-customer-support/check_refund_policy", "answer"].item()
    returns_page = (DEMO_STORE_DIR / "policies" / "returns.md").read_text()
    assert "30 days" in refund and "30 days" in returns_page  # FAQ and policy state the same window


@pytest.mark.parametrize("name", ["items.csv", "reviews.csv", "orders.csv"])
def test_timestamps_and_ids_are_canonical(name: str) -> None:
    table = read(name)
    for column in ("timestamp", "created_at", "updated_at"):
        if column in table:
            assert table[column].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    if name == "items.csv":
        assert table["item_id"].str.fullmatch(r"toy_[0-9a-f]{12}").all()
        assert set(table["currency"]) == {"GBP"}
        priced = table.loc[table["price"] != "", "price"].astype(float)
        assert len(priced) == 718 and (priced > 0).all()


def test_demo_store_loads_without_errors() -> None:
    """Through the product's own loader (the one `shopsense import` uses)."""
    result = loaders.load_store_dir(DEMO_STORE_DIR)
    errors = [loaders.format_problem(p) for p in result.report.problems if p.severity == "error"]
    assert errors == []
    assert result.report.ok
    assert all(table.rows_rejected == 0 for table in result.report.tables.values())
    counts = result.store.counts()
    assert (counts["items"], counts["reviews"], counts["interactions"], counts["orders"]) == (863, 1413, 1413,
                                                                                              1419)
    assert counts["faq"] >= 20
