"""Language detection: English, Chinese, other; mixed text goes to the dominant language; real corpora."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from shopsense.core.cleaning import clean_text
from shopsense.core.language import detect_language, detect_languages


@pytest.mark.parametrize(("text", "lang"), [
    ("This guitar strap is great, would buy again.", "en"),
    ("Nice!", "en"),
    ("5 stars", "en"),
    ("做父母一定要有刘墉这样的心态,不断地学习", "zh"),
    ("好", "zh"),
    ("這本書的質量很好", "zh"),  # traditional characters
    ("这款iPhone手机很好,电池耐用", "zh"),  # Chinese with a brand name
    ("支持TF卡(256M)DVMP3", "zh"),
    ("Great product, fast delivery 很好", "en"),  # mostly English
    ("Le produit est très bien, je le recommande pour les enfants", "other"),
    ("Achtung! Nicht für Kinder unter 36 Monaten geeignet, das ist sehr klein", "other"),
    ("El producto es muy bueno y llegó rápido, pero la caja", "other"),
    ("この商品はとても良いです", "other"),  # Japanese: kana
    ("배송이 빠르고 좋아요", "other"),  # Korean
    ("Отличный товар, рекомендую", "other"),  # Russian
    ("", "other"),
    ("   ", "other"),
    ("12345 !!! ???", "other"),
    ("😀😀😀", "other"),
])
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_non_strings_are_other() -> None:
    assert detect_language(None) == "other"
    assert detect_language(float("nan")) == "other"  # type: ignore[arg-type]
    assert detect_languages(["good", "好", None]) == ["en", "zh", "other"]


def test_real_chinese_reviews(shared_data) -> None:
    with zipfile.ZipFile(shared_data / "zh-online-shopping-10cats" / "online_shopping_10_cats.zip") as zf:
        reviews = pd.read_csv(zf.open("online_shopping_10_cats.csv"))["review"].dropna()
    langs = pd.Series(detect_languages(clean_text(t) for t in reviews))
    # Measured: 16 of 62,773 are not zh, and those are English sentences or emoticon strings.
    assert (langs == "zh").mean() > 0.999


def test_real_english_reviews_and_catalog(shared_data) -> None:
    path = shared_data / "womens-clothing-reviews" / "womens_clothing_ecommerce_reviews.csv.zip"
    with zipfile.ZipFile(path) as zf:
        reviews = pd.read_csv(zf.open("Womens Clothing E-Commerce Reviews.csv"))["Review Text"].dropna()
    assert (pd.Series(detect_languages(reviews)) == "en").mean() > 0.999
    toys = pd.read_csv(shared_data / "amazon-uk-toys-catalog" / "toys_uk_863.csv")
    toys = toys["product_description"].dropna()
    langs = detect_languages(toys)
    # The UK catalog has a few German and Italian descriptions; they must not count as English.
    german = [t for t, lang in zip(toys, langs, strict=True) if "Nicht für Kinder" in t]
    assert german and all(detect_language(t) == "other" for t in german)
    assert langs.count("en") >= 790


def test_cjk_helpers() -> None:
    from shopsense.core.language import cjk_count, cjk_share, has_cjk, has_han, is_cjk

    assert has_cjk("这款iPhone") and not has_cjk("iPhone") and not has_cjk("") and not has_cjk(None)
    assert cjk_count("好好a") == 2 and cjk_count(None) == 0
    assert cjk_share("好 a!") == 0.25 and cjk_share("") == 0.0
    assert is_cjk("好") and not is_cjk("a") and not is_cjk("あ")
    # Extension A and compatibility ideographs are Han characters, but outside the CJK block.
    for char in ("\u3400", "\uf900"):
        assert has_han(char) and not has_cjk(char)
    assert not has_han("この") and not has_cjk("この")
