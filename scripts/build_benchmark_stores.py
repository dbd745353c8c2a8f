"""Convert the public review/rating benchmark sets in ../shared/data into shopsense store directories.

    .venv/bin/python scripts/build_benchmark_stores.py                      # all three
    .venv/bin/python scripts/build_benchmark_stores.py --only movielens-small --out /tmp/stores

Writes DIR/musical-instruments/, DIR/gift-cards/ and DIR/movielens-small/ (default DIR:
.shopsense/benchmark-stores under the repository root), each with a SOURCE.md giving origin, terms and
citation. Every conversion checks its counts against the published figures and stops with an error if
they differ (copies with injected rows have been seen). Outputs are deterministic.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _benchmark_notes as notes  # noqa: E402
from _store_io import csv_bytes, iso_from_unix, write_tree  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / ".shopsense" / "benchmark-stores"
EXPECTED = {  # name -> (rows, users, items) as published
    "musical-instruments": (10_261, 1_429, 900),
    "gift-cards": (2_972, 458, 148),
    "movielens-small": (100_836, 610, 9_742),
}
ITEM_COLUMNS = ["item_id", "title", "description", "category", "brand", "price", "currency", "attributes",
                "image_url"]


def _attrs(value: dict[str, object]) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _read_json_lines(path: Path) -> list[dict]:
    if not path.exists():
        raise SystemExit(f"error: {path} not found (pass --source, the folder holding the shared data sets)")
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise SystemExit(f"error: {path}, line {line_number}: not JSON ({err.msg})") from err
    return rows


def _check(name: str, rows: int, users: int, items: int) -> None:
    expected = EXPECTED[name]
    if (rows, users, items) != expected:
        raise SystemExit(f"error: {name}: got {rows} rows / {users} users / {items} items, the published "
                         f"figures are {expected[0]} / {expected[1]} / {expected[2]}: the source differs")


def _amazon_reviews(raw: list[dict], prefix: str) -> tuple[pd.DataFrame, int]:
    """Amazon 5-core review lines -> reviews table. Reviewer names are dropped; reviewerID is the user."""
    rows, empty = [], 0
    for number, review in enumerate(raw, start=1):
        text = (review.get("reviewText") or "").strip()
        summary = (review.get("summary") or "").strip()
        if not text:
            empty += 1
        rows.append({
            "review_id": f"{prefix}-{number:05d}",
            "user_id": review["reviewerID"],
            "item_id": review["asin"],
            "rating": int(review["overall"]),
            # A store review needs a text; the few upstream reviews without one keep their summary.
            "text": text or summary,
            "title": summary,
            "timestamp": iso_from_unix(review["unixReviewTime"]),
        })
    return pd.DataFrame(rows), empty


def musical_instruments(source: Path) -> dict[str, bytes]:
    folder = source / "amazon-musical-instruments-5core"
    raw = _read_json_lines(folder / "reviews_Musical_Instruments_5.json.gz")
    reviews, empty = _amazon_reviews(raw, "mi")
    _check("musical-instruments", len(reviews), reviews["user_id"].nunique(), reviews["item_id"].nunique())
    asins = sorted(reviews["item_id"].unique())
    # No item metadata exists offline for this set: titles are placeholders, item text must come from reviews.
    items = pd.DataFrame({"item_id": asins, "title": [f"Item {a}" for a in asins], "description": "",
                          "category": "Musical Instruments", "brand": "", "price": "", "currency": "",
                          "attributes": "{}", "image_url": ""})[ITEM_COLUMNS]
    stats = {"reviews": len(reviews), "users": reviews["user_id"].nunique(), "items": len(items),
             "empty_text": empty, "first": reviews["timestamp"].min()[:10],
             "last": reviews["timestamp"].max()[:10]}
    return {"items.csv": csv_bytes(items), "reviews.csv": csv_bytes(reviews),
            "SOURCE.md": notes.musical_instruments(stats).encode("utf-8")}


def _price(raw: str) -> tuple[str, str]:
    """'$25.00' -> ('25.00', 'USD'); a range takes its lower end; anything else -> no price."""
    amounts = re.findall(r"\$\s*([\d,]+(?:\.\d+)?)", raw or "")
    if not amounts:
        return "", ""
    return f"{float(amounts[0].replace(',', '')):.2f}", "USD"


def _category(path: list[str]) -> str:
    parts: list[str] = []
    for part in (html.unescape(p).strip() for p in path):
        if part and (not parts or parts[-1] != part):  # upstream repeats levels: ["Gift Cards", "Gift Cards"]
            parts.append(part)
    return " > ".join(parts) or "Gift Cards"


def gift_cards(source: Path) -> dict[str, bytes]:
    folder = source / "amazon-gift-cards-5core"
    reviews, empty = _amazon_reviews(_read_json_lines(folder / "Gift_Cards_5.json.gz"), "gc")
    _check("gift-cards", len(reviews), reviews["user_id"].nunique(), reviews["item_id"].nunique())
    wanted = set(reviews["item_id"])
    meta: dict[str, dict] = {}
    for record in _read_json_lines(folder / "meta_Gift_Cards.json.gz"):
        if record["asin"] in wanted:
            meta.setdefault(record["asin"], record)  # the first record of an asin wins
    missing = sorted(wanted - set(meta))
    if missing:
        raise SystemExit(f"error: gift-cards: no metadata for {len(missing)} reviewed items, "
                         f"e.g. {missing[:3]}")
    rows = []
    for asin in sorted(meta):
        record = meta[asin]
        price, currency = _price(record.get("price", ""))
        attributes = {key: record[key] for key in ("main_cat", "also_buy", "also_view", "feature", "rank")
                      if record.get(key)}
        if record.get("price"):
            attributes["price_raw"] = record["price"]
        rows.append({
            "item_id": asin,
            "title": html.unescape(record.get("title", "")).strip() or f"Item {asin}",
            "description": " ".join(html.unescape(d).strip() for d in record.get("description", []) if d),
            "category": _category(record.get("category", [])),
            "brand": html.unescape(record.get("brand", "")).strip(),
            "price": price, "currency": currency, "attributes": _attrs(attributes),
            "image_url": (record.get("imageURLHighRes") or record.get("image") or [""])[0],
        })
    items = pd.DataFrame(rows)[ITEM_COLUMNS]
    repeats = int(reviews.duplicated(["user_id", "item_id"]).sum())
    stats = {"reviews": len(reviews), "users": reviews["user_id"].nunique(), "items": len(items),
             "empty_text": empty, "repeats": repeats, "priced": int((items["price"] != "").sum()),
             "five_star": float((reviews["rating"] == 5).mean()),
             "first": reviews["timestamp"].min()[:10], "last": reviews["timestamp"].max()[:10]}
    return {"items.csv": csv_bytes(items), "reviews.csv": csv_bytes(reviews),
            "SOURCE.md": notes.gift_cards(stats).encode("utf-8")}


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise SystemExit(f"error: {path} not found (pass --source, the folder holding the shared data sets)")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def movielens_small(source: Path) -> dict[str, bytes]:
    folder = source / "movielens-latest-small"
    movies = _read_csv(folder / "movies.csv")
    ratings = _read_csv(folder / "ratings.csv")
    tags = _read_csv(folder / "tags.csv")
    links = _read_csv(folder / "links.csv").set_index("movieId")
    _check("movielens-small", len(ratings), ratings["userId"].nunique(), movies["movieId"].nunique())
    tag_lists: dict[str, list[str]] = {}
    for movie_id, group in tags.groupby("movieId", sort=True):
        counts = Counter(t.strip().lower() for t in group["tag"] if t.strip())
        tag_lists[movie_id] = [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    rows = []
    for movie in movies.itertuples(index=False):
        genres = [] if movie.genres == "(no genres listed)" else movie.genres.split("|")
        year = re.search(r"\((\d{4})\)\s*$", movie.title)
        attributes: dict[str, object] = {"genres": genres}
        if year:
            attributes["year"] = int(year.group(1))
        if movie.movieId in links.index:
            link = links.loc[movie.movieId]
            for key, value in (("imdb_id", link["imdbId"]), ("tmdb_id", link["tmdbId"])):
                if value:
                    attributes[key] = value
        movie_tags = tag_lists.get(movie.movieId, [])
        description = f"Genres: {', '.join(genres) or 'none listed'}."
        if movie_tags:
            description += f" Tags: {', '.join(movie_tags)}."
        rows.append({"item_id": movie.movieId, "title": movie.title.strip(), "description": description,
                     "category": "Movies > " + "|".join(genres) if genres else "Movies", "brand": "",
                     "price": "", "currency": "", "attributes": _attrs(attributes), "image_url": ""})
    items = pd.DataFrame(rows)[ITEM_COLUMNS]
    interactions = pd.DataFrame({
        "user_id": ratings["userId"], "item_id": ratings["movieId"],
        "timestamp": [iso_from_unix(int(t)) for t in ratings["timestamp"]],
        "event": "rating", "value": [f"{float(v):g}" for v in ratings["rating"]],
    })
    stats = {"ratings": len(interactions), "users": interactions["user_id"].nunique(), "items": len(items),
             "rated_items": interactions["item_id"].nunique(), "tagged": len(tag_lists),
             "tag_rows": len(tags), "first": min(interactions["timestamp"])[:10],
             "last": max(interactions["timestamp"])[:10]}
    return {"items.csv": csv_bytes(items), "interactions.csv": csv_bytes(interactions),
            "SOURCE.md": notes.movielens_small(stats).encode("utf-8"),
            "README.txt": (folder / "README.txt").read_bytes()}


CONVERTERS: dict[str, Callable[[Path], dict[str, bytes]]] = {
    "musical-instruments": musical_instruments,
    "gift-cards": gift_cards,
    "movielens-small": movielens_small,
}


def build(source: Path, out: Path, only: str | None = None) -> dict[str, Path]:
    """Convert the sets (all, or ``only``) into ``out/<name>/``; returns the directories written."""
    written = {}
    for name, convert in CONVERTERS.items():
        if only is None or only == name:
            write_tree(convert(source), out / name)
            written[name] = out / name
    return written


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="folder holding the shared data sets")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="parent folder of the store directories")
    parser.add_argument("--only", choices=sorted(CONVERTERS), help="convert one set only")
    args = parser.parse_args(list(argv) if argv is not None else None)
    for name, path in build(args.source, args.out, args.only).items():
        rows, users, items = EXPECTED[name]
        print(f"{name}: {rows} rows, {users} users, {items} items -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
