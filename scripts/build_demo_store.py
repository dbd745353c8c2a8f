"""Build the bundled demo store (src/shopsense/data/demo_store/) from the real data in ../shared/data.

    .venv/bin/python scripts/build_demo_store.py            # rebuild the committed demo store
    .venv/bin/python scripts/build_demo_store.py --check    # rebuild in a temp dir, fail if anything differs
    .venv/bin/python scripts/build_demo_store.py --out DIR  # build somewhere else

The store is "ToyNest": 863 real toys from amazon.co.uk (CC BY-SA 4.0) with their embedded customer
reviews, purchases and orders derived from those reviews, and an FAQ plus policies written from Bitext's
customer-support answers (CDLA-Sharing-1.0). The build is deterministic: same inputs, byte-identical
files. How every table is derived is written into SOURCE.md by this script, so notes and code agree.
"""

from __future__ import annotations

import argparse
import filecmp
import random
import sys
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _bitext_faq as faq  # noqa: E402
import _demo_notes as notes  # noqa: E402
import _toys_catalog as toys  # noqa: E402
from _store_io import csv_bytes, iso, write_tree  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / "src" / "shopsense" / "data" / "demo_store"
SEED = "toynest-demo-v1"
# The store's "today": the day after the last review. Order statuses are judged against it.
AS_OF = datetime(2016, 4, 30, 12, 0, tzinfo=UTC)
# Orders that are still open on AS_OF, invented so that the demo can show order tracking. Marked
# origin=synthetic-demo in orders.csv and listed in SOURCE.md. (status, days before AS_OF)
SYNTHETIC_ORDERS = [("processing", 0), ("processing", 1), ("shipped", 2), ("shipped", 3), ("shipped", 4),
                    ("cancelled", 6)]


def build_reviews(parsed: list[toys.ParsedReview]) -> pd.DataFrame:
    rows = []
    for number, review in enumerate(parsed, start=1):
        review_id = f"rev-{number:05d}"
        rows.append({
            "review_id": review_id,
            "user_id": toys.pseudonym(toys.user_key(review, review_id)),
            "item_id": toys.item_id_for(review.product_id),
            "rating": review.rating,
            "text": review.text,
            "title": review.title,
            "timestamp": iso(review.date),
            "text_truncated": "true" if review.text_truncated else "false",
        })
    reviews = pd.DataFrame(rows)
    pairs = zip(parsed, reviews["review_id"], strict=True)
    keys = {toys.user_key(review, review_id) for review, review_id in pairs}
    if reviews["user_id"].nunique() != len(keys):
        raise SystemExit("error: two different reviewers got the same pseudonym; change PSEUDONYM_KEY")
    return reviews


def _purchase_time(review_id: str, review_ts: datetime) -> tuple[datetime, datetime]:
    """Seeded per review (not per run order): bought 1-14 days before the review, delivered in between."""
    rng = random.Random(f"{SEED}:{review_id}")
    days, seconds = rng.randint(1, 14), rng.randint(8 * 3600, 22 * 3600)
    bought = review_ts - timedelta(days=days) + timedelta(seconds=seconds)
    delivered = bought + timedelta(seconds=int((review_ts - bought).total_seconds() * rng.uniform(0.3, 0.9)))
    return bought, delivered


def build_interactions_and_orders(reviews: pd.DataFrame,
                                  items: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    purchases, orders = [], []
    for review in reviews.itertuples(index=False):
        review_ts = datetime.strptime(review.timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        bought, delivered = _purchase_time(review.review_id, review_ts)
        purchases.append({"user_id": review.user_id, "item_id": review.item_id, "timestamp": iso(bought),
                          "event": "purchase", "value": ""})
        orders.append({"user_id": review.user_id, "item_id": review.item_id, "status": "delivered",
                       "created_at": iso(bought), "updated_at": iso(delivered), "origin": "review",
                       "review_id": review.review_id})
    rng = random.Random(f"{SEED}:synthetic-orders")
    counts = reviews["user_id"].value_counts()
    repeat_customers = sorted(counts[counts >= 2].index)
    priced = sorted(items.loc[items["price"] != "", "item_id"])
    for status, days_before in SYNTHETIC_ORDERS:
        user = rng.choice(repeat_customers)
        owned = set(reviews.loc[reviews["user_id"] == user, "item_id"])
        item = rng.choice([i for i in priced if i not in owned])
        created = AS_OF - timedelta(days=days_before, seconds=rng.randint(3600, 10 * 3600))
        updated = created + {"processing": timedelta(0), "shipped": timedelta(hours=20),
                             "cancelled": timedelta(hours=2)}[status]
        orders.append({"user_id": user, "item_id": item, "status": status, "created_at": iso(created),
                       "updated_at": iso(updated), "origin": "synthetic-demo", "review_id": ""})
    interactions = pd.DataFrame(purchases).sort_values(["timestamp", "user_id", "item_id"], kind="stable")
    order_table = pd.DataFrame(orders).sort_values(["created_at", "user_id", "item_id"], kind="stable")
    # Order numbers grow with time, as a shop's would.
    order_table.insert(0, "order_id", [f"ORD-{100001 + i:06d}" for i in range(len(order_table))])
    return interactions.reset_index(drop=True), order_table.reset_index(drop=True)


def build_files(source: Path) -> dict[str, bytes]:
    """Every file of the demo store, by relative path."""
    catalog = toys.load_catalog(source)
    items = toys.build_items(catalog)
    parsed = toys.parse_all_reviews(catalog)
    reviews = build_reviews(parsed)
    interactions, orders = build_interactions_and_orders(reviews, items)
    bitext = faq.load_bitext(source)
    faq_table = faq.build_faq(bitext)
    stats = notes.Stats(
        items=len(items), priced=int((items["price"] != "").sum()),
        with_description=int((items["description"] != "").sum()),
        categories=items["category"].nunique(), reviews=len(reviews), users=reviews["user_id"].nunique(),
        named_reviews=sum(r.author is not None and toys.normalise_name(r.author) not in toys.GENERIC_AUTHORS
                          for r in parsed),
        generic_reviews=sum(r.author is not None and toys.normalise_name(r.author) in toys.GENERIC_AUTHORS
                            for r in parsed),
        truncated=int((reviews["text_truncated"] == "true").sum()),
        repeat_users=int((reviews["user_id"].value_counts() >= 2).sum()),
        first_review=reviews["timestamp"].min()[:10], last_review=reviews["timestamp"].max()[:10],
        interactions=len(interactions), orders=len(orders),
        synthetic_orders=int((orders["origin"] == "synthetic-demo").sum()), faq=len(faq_table),
        as_of=iso(AS_OF), synthetic=SYNTHETIC_ORDERS,
    )
    files = {
        "items.csv": csv_bytes(items),
        "reviews.csv": csv_bytes(reviews),
        "interactions.csv": csv_bytes(interactions),
        "orders.csv": csv_bytes(orders),
        "faq.csv": csv_bytes(faq_table),
        "store.json": b'{"name": "ToyNest", "currency": "GBP", "locale": "en_GB"}\n',  # the shop's identity
        "SOURCE.md": notes.source_md(stats, faq.STORE_FACTS, sorted(toys.GENERIC_AUTHORS)).encode("utf-8"),
        "LICENSE.md": notes.license_md().encode("utf-8"),
        "LICENSE-CDLA-Sharing-1.0.txt": (source / "bitext-customer-support" / "LICENSE.txt").read_bytes(),
    }
    for name, text in faq.policy_pages().items():
        files[f"policies/{name}"] = text.encode("utf-8")
    leftovers = [name for name, data in files.items() if b"{{" in data and name.endswith((".csv", ".md"))]
    if leftovers:
        raise SystemExit(f"error: unfilled placeholder '{{{{' in {', '.join(leftovers)}")
    return files


def differences(left: Path, right: Path) -> list[str]:
    def listing(root: Path) -> set[str]:
        return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}

    names_left, names_right = listing(left), listing(right)
    diff = [f"only in {left}: {n}" for n in sorted(names_left - names_right)]
    diff += [f"only in {right}: {n}" for n in sorted(names_right - names_left)]
    diff += [f"differs: {n}" for n in sorted(names_left & names_right)
             if not filecmp.cmp(left / n, right / n, shallow=False)]
    return diff


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="folder holding the shared data sets")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="store directory to write")
    parser.add_argument("--check", action="store_true", help="build into a temp dir and compare with --out")
    args = parser.parse_args(list(argv) if argv is not None else None)
    files = build_files(args.source)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "demo_store"
            write_tree(files, fresh)
            diff = differences(fresh, args.out)
        for line in diff:
            print(line, file=sys.stderr)
        print("demo store is up to date" if not diff else f"{len(diff)} difference(s)")
        return 1 if diff else 0
    write_tree(files, args.out)
    size = sum(len(data) for data in files.values())
    print(f"wrote {len(files)} files ({size / 1e6:.2f} MB) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
