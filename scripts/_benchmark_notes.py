"""SOURCE.md texts of the benchmark store directories, filled with the counts measured during conversion."""

from __future__ import annotations

_HEADER = """# {title}: converted for shopsense evaluation

Converted by `scripts/build_benchmark_stores.py` from `../shared/data/{folder}/`
into the shopsense store directory format. Counts were checked against the published figures during
conversion. This is research data: use it for evaluation only, under the terms below, and cite the source.
"""

_AMAZON_TERMS = """## Terms and citation

Amazon review data collected by Julian McAuley's group (UCSD), distributed for research use without an
explicit licence: treat it as research-only (no commercial use, no redistribution as part of a product).
Reviewer names are not copied into this directory; `reviewerID` (Amazon's opaque id) is the `user_id`.
"""


def musical_instruments(s: dict) -> str:
    return _HEADER.format(title="Amazon Musical Instruments (5-core, 2014)",
                          folder="amazon-musical-instruments-5core") + f"""
## Contents

- `reviews.csv`: {s['reviews']} reviews by {s['users']} users of {s['items']} items, {s['first']} to
  {s['last']}. `reviewerID` -> user_id, `asin` -> item_id, `overall` -> rating, `reviewText` -> text,
  `summary` -> title, `unixReviewTime` -> timestamp (UTC; the source has day precision). `review_id` =
  `mi-` + the line number. {s['empty_text']} reviews have no text upstream; their text is their summary.
- `items.csv`: one row per asin. **No item metadata exists offline for this set**, so `title` is the
  placeholder "Item <asin>", `description` is empty and `category` is "Musical Instruments" for all;
  any item text must come from the reviews.

""" + _AMAZON_TERMS + """
Cite: R. He and J. McAuley. Ups and downs: Modeling the visual evolution of fashion trends with one-class
collaborative filtering. WWW 2016. J. McAuley, C. Targett, Q. Shi, A. van den Hengel. Image-based
recommendations on styles and substitutes. SIGIR 2015.
"""


def gift_cards(s: dict) -> str:
    return _HEADER.format(title="Amazon Gift Cards (5-core, 2018)", folder="amazon-gift-cards-5core") + f"""
## Contents

- `reviews.csv`: {s['reviews']} reviews by {s['users']} users of {s['items']} items, {s['first']} to
  {s['last']}; {s['five_star']:.0%} are 5-star. Same field mapping as the other Amazon set (`review_id` =
  `gc-` + line number). {s['repeats']} user-item pairs appear twice upstream; both reviews are kept, each
  with its own review_id (deduplicate per user-item pair for implicit-feedback evaluation if needed).
  {s['empty_text']} reviews have no text upstream; their text is their summary.
- `items.csv`: from `meta_Gift_Cards.json.gz` (first record per asin): title, brand, description (the
  upstream list joined with spaces), category (upstream path with repeated levels collapsed, so
  "Gift Cards"), price in USD ({s['priced']} of {s['items']} have one; a range would keep its lower end,
  the raw string is in `attributes.price_raw`), first image URL, and in `attributes` the main category,
  also-bought / also-viewed asins, feature bullets and sales rank where present.

""" + _AMAZON_TERMS + """
Cite: J. Ni, J. Li, J. McAuley. Justifying recommendations using distantly-labeled reviews and
fine-grained aspects. EMNLP 2019.
"""


def movielens_small(s: dict) -> str:
    return _HEADER.format(title="MovieLens latest-small (GroupLens)", folder="movielens-latest-small") + f"""
## Contents

- `interactions.csv`: {s['ratings']} `rating` events by {s['users']} users on {s['rated_items']} movies,
  {s['first']} to {s['last']}; `value` = the stars (0.5 to 5 in half steps), `timestamp` from the source's
  unix seconds (UTC). There are no reviews in this set.
- `items.csv`: all {s['items']} movies of `movies.csv` (some have no rating). `title` as given (with the
  year), `category` = "Movies > " + the genres joined with "|" as upstream ("Movies" when none are listed),
  `attributes` = genres list, year, IMDb and TMDB ids from `links.csv`, `description` = "Genres: ...
  Tags: ..." built from the genres and the {s['tag_rows']} free-text tags of `tags.csv` ({s['tagged']}
  movies have tags; lower-cased, deduplicated, most used first). Tags are user activity from the whole
  period, including any test period of an evaluation split: content models that read `description` can
  see a little of the future; leave tags out for strict temporal protocols.
- `README.txt`: the GroupLens README, which must travel with any redistribution.

## Terms and citation

GroupLens usage licence (see README.txt): research use; no commercial use without permission; no
endorsement by the University of Minnesota or GroupLens may be implied; redistribution (including
transformations) only under the same conditions; acknowledge the data set in publications.

Cite: F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History and Context.
ACM Transactions on Interactive Intelligent Systems (TiiS) 5, 4: 19:1-19:19. https://doi.org/10.1145/2827872
"""
