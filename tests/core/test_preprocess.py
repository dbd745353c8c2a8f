"""prepare_store: cleaned, masked, de-duplicated copy of a store plus the report; real catalog and reviews."""

from __future__ import annotations

import copy
import zipfile

import pandas as pd
import pytest

from shopsense.core.pii import find_pii
from shopsense.core.preprocess import prepare_store
from shopsense.core.records import StoreData, empty_table

LONG = ("Lovely soft yarn, the colours are exactly as pictured and it washes well without pilling. "
        "I knitted a scarf for my daughter in one weekend.")


def _store() -> StoreData:
    items = pd.DataFrame({
        "item_id": ["i1", "i2"],
        "title": ["<b>Wool</b> &amp; Yarn", "Needles"],
        "description": ["<p>Soft.</p><p>Questions? Mail sales@yarnshop.example or call 020 7946 0958</p>",
                        None],
        "category": ["Crafts &gt; Knitting", "Crafts"], "brand": ["Yarn&nbsp;Co", ""], "price": [4.5, 2.0],
        "currency": ["GBP", "GBP"], "attributes": [{}, {}], "image_url": ["", ""],
    })
    ts = pd.to_datetime(["2021-01-01", "2021-01-02", "2021-01-03", "2021-01-04", "2021-01-05"], utc=True)
    reviews = pd.DataFrame({
        "review_id": ["r1", "r2", "r3", "r4", "r5"],
        "user_id": ["u1", "u2", "u3", "u4", "u5"],
        "item_id": ["i1", "i1", "i1", "i2", "i2"],
        "rating": [5, 5, 4, 2, 5],
        "text": [LONG, LONG + "!!", "Ship to 221B Baker Street, London NW1 6XE next time, thanks",
                 "针太短了,请联系我13800138000,地址:上海市浦东新区世纪大道100号", "Great"],
        "title": ["Love it", "Love it", "ok", "差评", "<i>Five stars</i>"],
        "timestamp": ts,
    }, index=[10, 11, 12, 13, 14])
    faq = pd.DataFrame({"faq_id": ["f1"], "question": ["How do I return an item?"],
                        "answer": ["Email returns@yarnshop.example.<br>We reply within 2 days."],
                        "category": ["returns"], "source": ["policies/returns.md"]})
    return StoreData(items=items, reviews=reviews, faq=faq)


def test_prepare_store_cleans_masks_and_dedupes() -> None:
    store = _store()
    before = copy.deepcopy(store)
    out, report = prepare_store(store)
    for name in StoreData.TABLES:  # the input is never modified
        pd.testing.assert_frame_equal(store.table(name), before.table(name))

    assert out.items["title"].tolist() == ["Wool & Yarn", "Needles"]
    assert out.items["description"].tolist() == ["Soft.\n\nQuestions? Mail [EMAIL] or call [PHONE]", ""]
    assert out.items["category"].tolist() == ["Crafts > Knitting", "Crafts"]
    assert out.items["brand"].tolist() == ["Yarn Co", ""]
    assert out.faq["answer"].tolist() == ["Email [EMAIL].\nWe reply within 2 days."]

    # r2 repeats r1 on the same item (long text, punctuation aside): dropped; the index is reset.
    assert out.reviews["review_id"].tolist() == ["r1", "r3", "r4", "r5"]
    assert list(out.reviews.index) == [0, 1, 2, 3]
    assert out.reviews["text"].tolist()[1:3] == ["Ship to [ADDRESS] next time, thanks",
                                                  "针太短了,请联系我[PHONE],地址:[ADDRESS]"]
    assert out.reviews["title"].tolist() == ["Love it", "ok", "差评", "Five stars"]
    assert out.reviews["lang"].tolist() == ["en", "en", "zh", "en"]

    d = report.as_dict()
    assert d["pii"] == {"EMAIL": 2, "PHONE": 2, "CARD": 0, "ID": 0, "ADDRESS": 2}
    assert d["pii_by_field"]["reviews.text"] == {"EMAIL": 0, "PHONE": 1, "CARD": 0, "ID": 0, "ADDRESS": 2}
    assert d["duplicates"]["exact_duplicates"] == 1 and d["duplicates"]["dropped"] == 1
    assert d["duplicate_examples"][0]["kept"] == "r1" and d["duplicate_examples"][0]["dropped"] == "r2"
    assert d["languages"] == {"en": 3, "zh": 1}
    assert d["rows"]["reviews"] == 4 and d["rows"]["items"] == 2
    assert d["cleaned"]["items.title"] == 1 and d["cleaned"]["reviews.text"] == 2
    # Untouched tables come through as they were.
    pd.testing.assert_frame_equal(out.orders, empty_table("orders"))


def test_prepare_store_without_dedupe_keeps_every_review() -> None:
    out, report = prepare_store(_store(), dedupe=False)
    assert len(out.reviews) == 5
    assert report.duplicates["dropped"] == 0


def test_prepare_store_on_an_empty_store() -> None:
    out, report = prepare_store(StoreData())
    assert all(v == 0 for v in out.counts().values())
    assert report.as_dict()["duplicates"]["reviews"] == 0


@pytest.fixture(scope="module")
def real_store(shared_data) -> StoreData:
    toys = pd.read_csv(shared_data / "amazon-uk-toys-catalog" / "toys_uk_863.csv")
    items = pd.DataFrame({"item_id": toys["product_id"], "title": toys["product_name"],
                          "description": toys["product_description"], "category": toys["category"],
                          "brand": toys["manufacturer"], "price": None, "currency": "GBP",
                          "attributes": [{}] * len(toys), "image_url": ""})
    with zipfile.ZipFile(shared_data / "zh-online-shopping-10cats" / "online_shopping_10_cats.zip") as zf:
        zh = pd.read_csv(zf.open("online_shopping_10_cats.csv"))
    assert len(zh) == 62774
    reviews = pd.DataFrame({"review_id": [f"zh-{i}" for i in range(len(zh))],
                            "user_id": [f"u{i}" for i in range(len(zh))], "item_id": zh["cat"],
                            "rating": zh["label"].map({1: 5, 0: 1}), "text": zh["review"], "title": "",
                            "timestamp": pd.NaT})
    return StoreData(items=items, reviews=reviews)


def test_real_store(real_store: StoreData) -> None:
    out, report = prepare_store(real_store)
    d = report.as_dict()
    # Nothing personal is left in any stored text.
    for column in ("title", "description"):
        assert all(find_pii(t) == [] for t in out.items[column])
    leaks = [t for t in out.reviews["text"] if find_pii(t)]
    assert leaks == []
    assert d["pii"]["PHONE"] >= 40 and d["pii"]["EMAIL"] >= 8 and d["pii"]["ID"] >= 10
    # Markup is gone from the catalog.
    assert not out.items["description"].str.contains(r"<li>|</br>", case=False, regex=True).any()
    # The corpus repeats some reviews word for word or nearly so; they are dropped and reported.
    dup = d["duplicates"]
    assert dup["exact_duplicates"] >= 30 and dup["near_duplicates"] >= 30
    assert len(out.reviews) == len(real_store.reviews) - dup["dropped"]
    assert {e["kind"] for e in d["duplicate_examples"]} == {"exact", "near"}
    kept_ids = set(out.reviews["review_id"])
    for example in d["duplicate_examples"]:
        assert example["kept"] in kept_ids and example["dropped"] not in kept_ids
    assert d["languages"]["zh"] > 0.999 * len(out.reviews)
