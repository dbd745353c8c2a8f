"""Throughput and real-data figures of preprocessing: cleaning, PII masking, languages, dedupe, splits.

Run: .venv/bin/python benchmarks/bench_preprocess.py [--json out.json] [--data ../shared/data]

Workloads are real text: the Amazon Musical Instruments 5-core reviews (10,261) repeated ten times with
distinct user/item ids (102,610 reviews, ~480 characters each), the Chinese online-shopping reviews
(62,774), the UK toys catalog (863 items) and the women's clothing reviews (22,641 with text).
"""

from __future__ import annotations

import argparse
import json
import time
import zipfile
from collections import Counter
from pathlib import Path

import pandas as pd

from shopsense.core.cleaning import clean_texts
from shopsense.core.dedupe import find_duplicate_reviews
from shopsense.core.language import detect_languages
from shopsense.core.pii import find_pii, mask_many
from shopsense.core.preprocess import prepare_store
from shopsense.core.records import StoreData
from shopsense.core.splits import leave_last_out, stratified_split, temporal_split

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _timed(fn, *args, **kwargs):  # noqa: ANN001, ANN202 - tiny helper
    """Result and CPU seconds of this process (wall time is noisy on a shared 2-core machine)."""
    start = time.process_time()
    out = fn(*args, **kwargs)
    return out, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    data: Path = args.data
    figures: dict[str, object] = {}

    raw = pd.read_json(data / "amazon-musical-instruments-5core" / "reviews_Musical_Instruments_5.json.gz",
                       lines=True)
    copies = []
    for k in range(10):
        copies.append(pd.DataFrame({
            "user_id": raw["reviewerID"] + f"-{k}", "item_id": raw["asin"] + f"-{k}",
            "text": raw["reviewText"],
            "timestamp": pd.to_datetime(raw["unixReviewTime"], unit="s", utc=True)}))
    big = pd.concat(copies, ignore_index=True)
    n = len(big)
    cleaned, t_clean = _timed(clean_texts, big["text"])
    (masked, counts), t_mask = _timed(mask_many, cleaned)
    _, t_lang = _timed(detect_languages, cleaned)
    big["text"] = masked
    report, t_dedupe = _timed(find_duplicate_reviews, big)
    figures["en_100k"] = {
        "reviews": n, "mean_chars": round(float(big["text"].str.len().mean()), 1),
        "clean_cpu_s": round(t_clean, 2), "mask_cpu_s": round(t_mask, 2),
        "detect_language_cpu_s": round(t_lang, 2),
        "dedupe_cpu_s": round(t_dedupe, 2), "clean_per_s": int(n / t_clean), "mask_per_s": int(n / t_mask),
        "pii_spans": dict(counts), "duplicates": report.summary(),
    }

    with zipfile.ZipFile(data / "zh-online-shopping-10cats" / "online_shopping_10_cats.zip") as zf:
        zh = pd.read_csv(zf.open("online_shopping_10_cats.csv"))
    toys = pd.read_csv(data / "amazon-uk-toys-catalog" / "toys_uk_863.csv")
    items = pd.DataFrame({"item_id": toys["product_id"], "title": toys["product_name"],
                          "description": toys["product_description"], "category": toys["category"],
                          "brand": toys["manufacturer"], "price": None, "currency": "GBP",
                          "attributes": [{}] * len(toys), "image_url": ""})
    reviews = pd.DataFrame({"review_id": [f"zh-{i}" for i in range(len(zh))],
                            "user_id": [f"u{i}" for i in range(len(zh))], "item_id": zh["cat"],
                            "rating": zh["label"].map({1: 5, 0: 1}), "text": zh["review"], "title": "",
                            "timestamp": pd.NaT})
    (out, prep), t_prep = _timed(prepare_store, StoreData(items=items, reviews=reviews))
    prep_dict = prep.as_dict()
    figures["prepare_store_zh_reviews_toys_items"] = {
        "reviews_in": len(reviews), "items": len(items), "cpu_s": round(t_prep, 2),
        "pii": prep_dict["pii"], "duplicates": prep_dict["duplicates"], "languages": prep_dict["languages"],
        "reviews_out": len(out.reviews),
    }

    path = data / "womens-clothing-reviews" / "womens_clothing_ecommerce_reviews.csv.zip"
    with zipfile.ZipFile(path) as zf:
        wc = pd.read_csv(zf.open("Womens Clothing E-Commerce Reviews.csv"))["Review Text"].dropna()
    spans = [s for t in clean_texts(wc) for s in find_pii(t)]
    figures["false_positives_womens_clothing"] = {"reviews": len(wc), "spans_found": len(spans),
                                                 "by_kind": dict(Counter(s.kind for s in spans))}
    catalog_spans = [s for t in clean_texts(toys["product_name"]) + clean_texts(toys["product_information"])
                     for s in find_pii(t)]
    figures["false_positives_toys_titles_and_details"] = {"texts": 2 * len(toys),
                                                          "spans_found": len(catalog_spans)}

    inter = big[["user_id", "item_id", "timestamp"]]
    _, t_llo = _timed(leave_last_out, inter)
    _, t_temp = _timed(temporal_split, inter)
    labelled = pd.DataFrame({"label": pd.concat([raw["overall"]] * 10, ignore_index=True)})
    _, t_strat = _timed(stratified_split, labelled, "label")
    figures["splits_100k_cpu_s"] = {"leave_last_out": round(t_llo, 3), "temporal": round(t_temp, 3),
                                "stratified": round(t_strat, 3)}

    print(json.dumps(figures, indent=2, ensure_ascii=False, default=str))
    if args.json:
        tmp = args.json.with_suffix(args.json.suffix + ".tmp")
        tmp.write_text(json.dumps(figures, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        tmp.replace(args.json)


if __name__ == "__main__":
    main()
