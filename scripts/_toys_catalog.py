"""Parse the Amazon UK toys catalog (PromptCloud crawl) into the demo store's items and reviews.

Used by ``build_demo_store.py`` only; nothing here is needed by the product at run time. Every rule that
turns a messy crawl field into a store column lives here, with the reason next to it.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

CATALOG_FILE = "amazon-uk-toys-catalog/toys_uk_863.csv"
EXPECTED_PRODUCTS = 863

# The one-way key of the reviewer pseudonyms. It sits in this script so that a rebuild is byte-identical;
# that makes the ids pseudonymous, not anonymous: whoever has this script and guesses a reviewer's name
# can test the guess (the reviews are public on amazon.co.uk under those names anyway). SOURCE.md says so.
PSEUDONYM_KEY = b"shopsense-demo-store/toynest/v1:6f1c0e9a52d4"

# Names that many different people share because Amazon shows them in place of a real one. A review
# signed with one of these gets its own user, never merged with the others (README of ../shared/data).
GENERIC_AUTHORS = frozenset({
    "amazon customer", "a customer", "kindle customer", "pen name", "customer", "shopper", "amazon shopper",
    "a kid's review",
})

_MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
           "oct": 10, "nov": 11, "dec": 12}
_DATE_RE = re.compile(r"^(\d{1,2}) ([A-Za-z]+)\.? (\d{4})$")
_RATING_RE = re.compile(r"^([1-5])\.0$")
# "By\n    \n    Jane Doe\n  \n on 3 Jun. 2016" (a badge such as "TOP 500 REVIEWER" may sit before "on").
# The name is complete only when a line break follows it; the crawl cut many fields mid-name.
_AUTHOR_RE = re.compile(r"^By\s*\n\s*(\S[^\n]*?)[ \t]*\n")
_KID_RE = re.compile(r"^A Kid's Review\s*\n")
_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9]{0,10}(?:\s[^<>]{0,200})?/?>")
_WS_RE = re.compile(r"\s+")
# The crawl kept at most 600 characters of the review field, so the last review of a full field is cut.
_FIELD_LIMIT = 600

# Technical-details labels of the crawl, glued to their values ("Item Weight998 g"); order is irrelevant,
# the parser splits at every known label. Key = attribute name in the store.
_TECH_LABELS = {
    "Item Weight": "item_weight", "Product Dimensions": "dimensions", "Batteries:": "batteries",
    "Manufacturer recommended age:": "recommended_age", "Item model number": "model_number",
    "Manufacturer reference": "manufacturer_reference", "Educational Objective(s)": "educational_objective",
    "Main Language(s)": "languages", "Number of Game Players": "players", "Number of Puzzle Pieces": "pieces",
    "Assembly Required": "assembly_required", "Batteries Required?": "batteries_required",
    "Batteries Included?": "batteries_included", "Material Type(s)": "material",
    "Material Composition": "material_composition", "Material Care Instructions": "care_instructions",
    "Remote Control Included?": "remote_control_included", "Radio Control Suitability": "radio_control_use",
    "Color": "colour", "Scale": "scale", "Track Width/Gauge": "gauge", "Engine Type": "engine_type",
    "Suggested Maximum Weight": "max_user_weight", "Our recommended age:": "retailer_recommended_age",
    "Material Type": "material", "Material": "material", "Colour": "colour", "Size": "size",
    "Manufacturer Part Number": "part_number", "Number Of Pieces": "pieces",
}
# Labels mapped to "" only end the value before them (rank lists, help links); they are not kept.
_ADDITIONAL_LABELS = {
    "ASIN": "asin", "Shipping Weight": "shipping_weight", "Date First Available": "first_available",
    "Best Sellers Rank": "", "Delivery Destinations:": "", "Customer Reviews": "", "Feedback": "",
    "Would you like": "",
}
_BOOLEAN_KEYS = {"assembly_required", "batteries_required", "batteries_included", "remote_control_included"}


def _label_re(labels: dict[str, str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    return re.compile(rf"(?:(?<=\s)|^)({alternatives})")


_TECH_RE = _label_re(_TECH_LABELS)
_ADDITIONAL_RE = _label_re(_ADDITIONAL_LABELS)
_WEIGHT_RE = re.compile(r"^([\d.,]+)\s*(g|kg|grams?|kilograms?)$", re.IGNORECASE)
_DIMS_RE = re.compile(r"^([\d.]+) x ([\d.]+) x ([\d.]+) (cm|mm)$")
_AGE_RE = re.compile(r"^(\d+) (years|months) and up$")
# "36 months - 6 years"; "4 - 10 years" gives its unit once. Ranges whose ends are reversed stay unparsed.
_AGE_RANGE_RE = re.compile(r"^(\d+) ?(years|months)? - (\d+) (years|months)$")


def clean_text(value: object) -> str:
    """Minimal clean-up of a crawled field: entities resolved, tags dropped, whitespace collapsed."""
    if not isinstance(value, str):
        return ""
    text = html.unescape(value)
    text = _TAG_RE.sub(" ", text)
    return _WS_RE.sub(" ", text.replace("\xa0", " ")).strip()


def parse_date(text: str) -> datetime | None:
    """'3 Jun. 2016' / '21 April 2010' / '1 Sept. 2015' -> midnight UTC that day; None when cut off."""
    match = _DATE_RE.match(text.strip())
    if not match:
        return None
    month = _MONTHS.get(match.group(2)[:3].lower())
    if month is None:
        return None
    return datetime(int(match.group(3)), month, int(match.group(1)), tzinfo=UTC)


def normalise_name(name: str) -> str:
    return _WS_RE.sub(" ", unicodedata.normalize("NFKC", name)).strip().casefold()


def pseudonym(key: str) -> str:
    """``u_`` + 12 hex of HMAC-SHA256(PSEUDONYM_KEY, key): stable, one-way without the key."""
    return "u_" + hmac.new(PSEUDONYM_KEY, key.encode("utf-8"), hashlib.sha256).hexdigest()[:12]


@dataclass(frozen=True)
class ParsedReview:
    """One review cut out of a product's ``customer_reviews`` field (author kept only in memory)."""

    product_id: str
    position: int
    title: str
    rating: int
    date: datetime
    author: str | None  # complete author name as shown; None when absent or cut off by the crawl
    author_raw: str  # whatever the author field held, possibly a cut-off name (used only by tests)
    text: str
    text_truncated: bool


def split_reviews(product_id: str, field: object) -> list[ParsedReview]:
    """Split one ``customer_reviews`` field into reviews; fragments lacking title, stars or date go."""
    if not isinstance(field, str):
        return []
    parts = field.split(" | ")
    full_field = len(field) >= _FIELD_LIMIT
    reviews: list[ParsedReview] = []
    for position, part in enumerate(parts):
        fields = part.split(" // ", 4)
        if len(fields) < 3:
            continue
        rating = _RATING_RE.match(fields[1].strip())
        date = parse_date(fields[2])
        if not rating or date is None:
            continue
        author_field = fields[3] if len(fields) > 3 else ""
        author = None
        author_raw = ""
        match = _AUTHOR_RE.match(author_field)
        if match:
            author = author_raw = match.group(1).strip()
        elif _KID_RE.match(author_field):
            author = author_raw = "A Kid's Review"
        elif author_field.startswith("By"):
            author_raw = author_field[2:].strip()
        body = clean_text(fields[4]) if len(fields) > 4 else ""
        last = position == len(parts) - 1
        title = clean_text(fields[0])
        reviews.append(ParsedReview(
            product_id=product_id, position=position, title=title, rating=int(rating.group(1)), date=date,
            author=author, author_raw=author_raw,
            # Reviews whose body the crawl cut off entirely keep their title as text (stores require a text).
            text=body or title, text_truncated=(last and full_field) or not body,
        ))
    return reviews


def _split_labelled(text: str, pattern: re.Pattern[str], labels: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    matches = list(pattern.finditer(text))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        value = text[match.end():end].strip(" :")
        if value and labels[match.group(1)]:
            found.setdefault(labels[match.group(1)], value)
    return found


def _grams(value: str) -> float | None:
    match = _WEIGHT_RE.match(value.strip())
    if not match:
        return None
    number = float(match.group(1).replace(",", ""))
    return round(number * 1000 if match.group(2).lower().startswith("k") else number, 1)


def _months(number: str, unit: str) -> int:
    return int(number) * (12 if unit == "years" else 1)


def parse_product_information(value: object) -> dict[str, object]:
    """Technical details and additional information -> attributes (raw strings plus parsed numbers)."""
    text = clean_text(value)
    if not text:
        return {}
    technical, _, additional = text.partition("Additional Information")
    technical = technical.replace("Technical Details", "", 1)
    attrs: dict[str, object] = {}
    for key, raw in _split_labelled(technical, _TECH_RE, _TECH_LABELS).items():
        attrs[key] = (raw == "Yes") if key in _BOOLEAN_KEYS and raw in ("Yes", "No") else raw
    attrs.update(_split_labelled(additional, _ADDITIONAL_RE, _ADDITIONAL_LABELS))
    best_sellers = re.search(r"Best Sellers Rank ([\d,]+) in", text)
    if best_sellers:
        attrs["best_sellers_rank"] = int(best_sellers.group(1).replace(",", ""))
    for key in ("item_weight", "shipping_weight"):
        grams = _grams(str(attrs.get(key, "")))
        if grams is not None:
            attrs[key + "_g"] = grams
    dims = _DIMS_RE.match(str(attrs.get("dimensions", "")))
    if dims:
        scale = 10.0 if dims.group(4) == "mm" else 1.0
        attrs["dimensions_cm"] = [round(float(dims.group(i)) / scale, 2) for i in (1, 2, 3)]
    age = str(attrs.get("recommended_age", ""))
    if match := _AGE_RE.match(age):
        attrs["min_age_months"] = _months(match.group(1), match.group(2))
    elif match := _AGE_RANGE_RE.match(age):
        low = _months(match.group(1), match.group(2) or match.group(4))
        high = _months(match.group(3), match.group(4))
        if low <= high:
            attrs["min_age_months"] = low
        if low < high:
            attrs["max_age_months"] = high
    return attrs


def category_path(row: pd.Series) -> str:
    """category > subcategory_1 > ... ; the crawl's filler value "others" is not a category."""
    parts = [str(row[col]).strip() for col in ("category", "subcategory_1", "subcategory_2", "subcategory_3",
                                               "subcategory_4") if isinstance(row[col], str)]
    parts = [p for p in parts if p and p.lower() != "others"]
    return " > ".join(parts) if parts else "Other"


def _description(value: object) -> tuple[str, dict[str, str]]:
    """Drop the crawl's "Product Description" label; a leading "Size Name:M" goes to attributes."""
    text = clean_text(value)
    variant: dict[str, str] = {}
    head, sep, tail = text.partition("Product Description")
    if sep and len(head) < 80:
        for match in re.finditer(r"(Size|Style|Colour|Color|Pattern) Name:\s*(.+?)(?=\s+\w+ Name:|$)", head):
            variant["variant_" + match.group(1).lower().replace("color", "colour")] = match.group(2).strip()
        text = tail.strip()
    return text, variant


def item_id_for(product_id: str) -> str:
    return "toy_" + product_id[:12]


def load_catalog(source: Path) -> pd.DataFrame:
    path = source / CATALOG_FILE
    if not path.exists():
        raise SystemExit(f"error: {path} not found (pass --source, the folder holding "
                         f"amazon-uk-toys-catalog/)")
    frame = pd.read_csv(path, dtype={"product_id": str})
    if len(frame) != EXPECTED_PRODUCTS or not frame["product_id"].is_unique:
        raise SystemExit(f"error: {path}: expected {EXPECTED_PRODUCTS} unique products, got {len(frame)}")
    if frame["product_id"].map(item_id_for).duplicated().any():
        raise SystemExit(f"error: {path}: 12-hex item ids collide; lengthen them in item_id_for")
    return frame


def build_items(catalog: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, row in catalog.iterrows():
        description, variant = _description(row["product_description"])
        attrs: dict[str, object] = {"source_product_id": row["product_id"], **variant,
                                    **parse_product_information(row["product_information"])}
        for col, key in (("number_available_in_stock", "stock"), ("number_of_reviews", "source_review_count"),
                         ("average_review_rating", "source_average_rating")):
            if pd.notna(row[col]):
                value = float(row[col])
                attrs[key] = int(value) if value.is_integer() else value
        price = row["price"]
        rows.append({
            "item_id": item_id_for(row["product_id"]),
            "title": clean_text(row["product_name"]),
            "description": description,
            "category": category_path(row),
            "brand": clean_text(row["manufacturer"]),
            "price": f"{float(price):.2f}" if pd.notna(price) else "",
            "currency": "GBP",
            "attributes": json.dumps(attrs, sort_keys=True, ensure_ascii=False, separators=(",", ":")),
            "image_url": "",
        })
    return pd.DataFrame(rows)


def parse_all_reviews(catalog: pd.DataFrame) -> list[ParsedReview]:
    reviews: list[ParsedReview] = []
    for product_id, field in zip(catalog["product_id"], catalog["customer_reviews"], strict=True):
        reviews.extend(split_reviews(product_id, field))
    return reviews


def user_key(review: ParsedReview, review_id: str) -> str:
    """What the pseudonym is computed from: the normalised name, or the review itself when nameless."""
    if review.author and normalise_name(review.author) not in GENERIC_AUTHORS:
        return "name:" + normalise_name(review.author)
    # Generic, missing or cut-off names: one user per review, never merged (they are different people).
    return "review:" + review_id
