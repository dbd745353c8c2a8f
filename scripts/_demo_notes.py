"""SOURCE.md and LICENSE.md of the demo store, written by build_demo_store.py from the numbers it measured."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stats:
    """Counts measured during a build, quoted in SOURCE.md."""

    items: int
    priced: int
    with_description: int
    categories: int
    reviews: int
    users: int
    named_reviews: int
    generic_reviews: int
    truncated: int
    repeat_users: int
    first_review: str
    last_review: str
    interactions: int
    orders: int
    synthetic_orders: int
    faq: int
    as_of: str
    synthetic: list[tuple[str, int]]


def source_md(s: Stats, facts: dict[str, str], generic_names: list[str]) -> str:
    nameless = s.reviews - s.named_reviews - s.generic_reviews
    synthetic = ", ".join(f"{status} ({days} d before)" for status, days in s.synthetic)
    generic = ", ".join(f'"{name}"' for name in generic_names)
    return f"""# ToyNest demo store: where every file comes from

Built by `scripts/build_demo_store.py` from the read-only data sets in `../shared/data/`. Rebuild with
`.venv/bin/python scripts/build_demo_store.py`; `--check` rebuilds into a temp dir and fails if any byte
differs (the test suite does the same). The files carry no build date so that rebuilds are identical; the
repository history dates them. Format: the shopsense store directory (see docs / DESIGN.md).

## Sources

- **items, reviews, interactions, orders**: "Toy Products on Amazon" (PromptCloud crawl of amazon.co.uk,
  published on Kaggle by PromptCloudHQ), a third-party subset of {s.items} products (at most 10 per
  sub-category): `amazon-uk-toys-catalog/toys_uk_863.csv`. Licence: CC BY-SA 4.0.
- **faq.csv, policies/*.md**: Bitext customer-support training set (4,514 rows; agent responses with
  placeholders): `bitext-customer-support/bitext_customer_support_training_4.5k.csv`.
  Licence: CDLA-Sharing-1.0.

## How each table was derived

**items.csv** ({s.items} rows, all real). `item_id` = `toy_` + the first 12 hex digits of the crawl's
`product_id` (checked unique; the full id is kept as `attributes.source_product_id` for traceability).
`title` = product name; `description` = product description with the crawl's "Product Description" label,
HTML tags and entities removed ({s.with_description} of {s.items} have one; full cleaning happens at
import); `category` = the crawl's category and sub-categories joined with " > " ({s.categories} distinct
paths; the filler value "others" is dropped, a product with nothing else is "Other"; a few paths are
Amazon cross-listings that look odd for toys and are kept as crawled); `brand` = manufacturer;
`price` = the crawl's GBP price ({s.priced} of {s.items} have one; the source holds plain numbers, no
ranges), `currency` = GBP. `attributes` (JSON) holds what could be parsed from the technical details and
additional information (recommended age and `min_age_months`/`max_age_months`, item weight and
`item_weight_g`, dimensions and `dimensions_cm`, model number, batteries, assembly, languages, material,
colour, pieces, players, ASIN, first-available date, best-sellers rank) plus the crawl's stock count
(`stock`) and Amazon's review count and average rating (`source_review_count`, `source_average_rating`,
which cover all Amazon reviews, not only the ones embedded here). `image_url` is empty: the crawl has none.

**reviews.csv** ({s.reviews} rows, all real). Parsed out of the `customer_reviews` field
(`title // stars // date // By name on date // text`, reviews separated by ` | `); a fragment is a review
when its title, stars and full date are present. `timestamp` is the review date at 00:00 UTC (the
source has dates only), {s.first_review} to {s.last_review}. The crawl kept at most 600 characters of the
field, so the last review of a full field is cut off; such reviews, and those whose body was cut away
entirely (their `text` is then their title), are marked `text_truncated=true` ({s.truncated} rows).

**Reviewer pseudonyms.** No reviewer name is stored. `user_id` = `u_` + the first 12 hex digits of
HMAC-SHA256 over the normalised name (Unicode NFKC, whitespace collapsed, case-folded), keyed with a fixed
key kept in the build script. The mapping is one-way: the name cannot be computed back from the id. It is
pseudonymisation, not anonymisation: the key is in this repository (so that rebuilds are byte-identical),
so whoever guesses a name can test the guess, and the review texts are public on amazon.co.uk. The same
name is the same user ({s.named_reviews} reviews with a real name). Names that Amazon shows for many
different people ({generic}: {s.generic_reviews} reviews) and reviews whose name is missing or cut off by
the crawl ({nameless}) each get their own user, keyed by the review, never merged. Result: {s.users} users,
{s.repeat_users} of them with two or more reviews.

**interactions.csv** ({s.interactions} rows, derived). Only what the reviews imply: one `purchase` by the
reviewer of the reviewed item, 1 to 14 days before the review date, at a time of day between 08:00 and
22:00 UTC. The day and time are drawn from a random generator seeded per review, so they are deterministic
but invented. No views, clicks or carts are made up. (A review also counts as a `rating` interaction when
the store is loaded; that one is not repeated here.)

**orders.csv** ({s.orders} rows). {s.orders - s.synthetic_orders} are derived, one per review
(`origin=review`, `review_id` links them): `created_at` = the derived purchase time, status `delivered`,
`updated_at` = a delivery time between purchase and review (same seeded generator). The store's "today" is
{s.as_of}, after the last review. {s.synthetic_orders} more orders are **synthetic**, invented for the
demo so that order tracking has open orders to show (`origin=synthetic-demo`): {synthetic}, each for a
repeat customer and a priced item they have not reviewed; they have no matching interaction. Order numbers
(`ORD-` + 6 digits) increase with `created_at`.

**faq.csv** ({s.faq} entries) and **policies/*.md**. One FAQ entry per customer-service intent of Bitext
(`cancel_order`, `track_order`, `check_refund_policy`, ...; `check_cancellation_fee` is left out because
its answers are about contract termination fees). For each intent the build ranks the intent's answers
that mention no customer-specific value (order number, city, amount) by closeness to the intent's
centroid (TF-IDF) with a bonus for numbered steps, drops answers that contradict the store (24/7 support,
free-phone numbers, e-mail addresses, apps, account tiers), and uses the row an editor picked from that
ranking (`bitext_row`). Placeholders are filled from one table of store facts; a placeholder that cannot
be filled disqualifies the answer, and the build fails if any double-brace placeholder remains.
Opening sentences that only echo the request are cut. `question` is written for the store;
`alt_questions` holds up to three real Bitext phrasings of the intent. Where the store has a rule
(returns window, delivery, payment, cancelling) a final "At ToyNest: ..." paragraph states it.
`source` = `bitext-customer-support/<intent>`. The policy pages are written from the same store facts,
so FAQ and policies agree:

{chr(10).join(f"- {key}: {value}" for key, value in facts.items())}

Phone numbers and e-mail addresses are deliberately absent (answers point to the Contact page).
ToyNest and its website `toynest.example` (a reserved example domain) are fictional.

## Licence

The catalog-derived tables are an adaptation of a CC BY-SA 4.0 data set and are therefore CC BY-SA 4.0
too; faq.csv and policies/ are derived from Bitext data under CDLA-Sharing-1.0. See LICENSE.md.
"""


def license_md() -> str:
    return """# Licences of the ToyNest demo store

This folder is data, not code: the shopsense source code's licence does not apply to it.

## items.csv, reviews.csv, interactions.csv, orders.csv: CC BY-SA 4.0

Adapted from "Toy Products on Amazon" by PromptCloud (PromptCloudHQ on Kaggle), a crawl of amazon.co.uk,
licensed under the Creative Commons Attribution-ShareAlike 4.0 International licence
(https://creativecommons.org/licenses/by-sa/4.0/). This subset of 863 products was made by a third party.
Changes: reviews split out of the product rows, reviewer names replaced by one-way pseudonyms, purchases and
orders derived from the reviews (six orders invented for the demo, marked `origin=synthetic-demo`), fields
parsed and cleaned as SOURCE.md describes. These adapted tables are licensed under CC BY-SA 4.0 as well.
Product names, brands and review texts belong to their respective owners and authors; no endorsement by
PromptCloud, Amazon or any manufacturer is implied. The material is provided as is, without warranties.

## faq.csv and policies/*.md: CDLA-Sharing-1.0

Derived from the Bitext customer-support training data set, (c) Bitext Innovations, 2023, made available
under the Community Data License Agreement – Sharing, Version 1.0; the full text of that agreement is in
LICENSE-CDLA-Sharing-1.0.txt next to this file. Changes: one answer chosen per intent, placeholders filled
with the facts of the fictional store ToyNest, opening sentences trimmed, questions and store-specific
sentences added. These derived files are published under the same agreement.
"""
