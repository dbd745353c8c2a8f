"""Text cleaning: HTML, URLs, control characters, Unicode normalisation, whitespace; real catalog text."""

from __future__ import annotations

import re
import zipfile

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopsense.core.cleaning import clean_text, clean_texts, remove_urls, strip_html


@pytest.mark.parametrize(("raw", "expected"), [
    ("<p>Hello</p><p>World</p>", "Hello World"),
    ("Box Contains 102 x Card Deck</br>1 x Die</br>1 x Bite-size case",
     "Box Contains 102 x Card Deck 1 x Die 1 x Bite-size case"),
    ("Box Contains <LI>1x Dress<LI>1x Cape", "Box Contains 1x Dress 1x Cape"),
    ("<b>Bold</b> and <i>italic</i>, <a href='http://x.com/a'>link</a>", "Bold and italic, link"),
    ("Fish &amp; Chips &quot;best&quot; &#163;5 &pound;6 &nbsp;ok", 'Fish & Chips "best" £5 £6 ok'),
    ("line one&lt;br /&gt;line two", "line one line two"),
    ("<script>alert('x')</script>Safe <style>p{color:red}</style>text", "Safe text"),
    ("Before<!-- a comment -->after", "Beforeafter"),
    ("x<y and z>w, I <3 it", "x<y and z>w, I <3 it"),
    ("a < b > c", "a < b > c"),
])
def test_html_is_stripped_and_entities_resolved(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_block_tags_become_line_breaks_when_kept() -> None:
    assert clean_text("<p>Hello</p><p>World</p>", keep_newlines=True) == "Hello\n\nWorld"
    assert clean_text("<ul><li>a</li><li>b</li></ul>after", keep_newlines=True) == "a\nb\n\nafter"
    assert clean_text("one<br>two<br/>three", keep_newlines=True) == "one\ntwo\nthree"
    assert strip_html("a<br>b") == "a\nb"


@pytest.mark.parametrize(("raw", "expected"), [
    ("see http://www.amazon.co.uk/s/ref=nb_sb_noss?url=me%3DAIAQ&field-keywords=ICONIX+ for more",
     "see for more"),
    ("Visit www.example.com.", "Visit ."),
    ("(https://example.org/page) done", "( ) done"),
    ("原文请见http://twzlm.blog.hexun.com/31436136_d.html，谢谢", "原文请见 ,谢谢"),
    ("ftp://files.example.com/a.zip", ""),
    ("No links: example.com is a domain, not a URL", "No links: example.com is a domain, not a URL"),
])
def test_urls_are_removed(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_remove_urls_keeps_trailing_punctuation() -> None:
    assert remove_urls("go to https://a.b/c.", replacement="") == "go to ."


def test_control_and_invisible_characters_are_dropped() -> None:
    assert clean_text("\ufeff做父母一定要") == "做父母一定要"
    assert clean_text("a\x00b\x07c\u200bd\u00ade\u202ef\x85g") == "abcdefg"
    # Emoji joiners are kept: they are part of one emoji.
    assert "\u200d" in clean_text("👩\u200d💻 coder")


def test_unicode_is_nfkc_normalised() -> None:
    assert clean_text("ＡＢＣ　１２３") == "ABC 123"
    assert clean_text("很好，物流快！") == "很好,物流快!"
    assert clean_text("好。") == "好。"  # the ideographic full stop has no compatibility form
    assert clean_text("ﬁne") == "fine"


@pytest.mark.parametrize(("raw", "expected", "keep"), [
    ("  a \t\n\n b  ", "a b", False),
    ("a\r\nb", "a b", False),
    ("a\n\n\n\nb", "a\n\nb", True),
    ("a  \n   b\t c", "a\nb c", True),
    ("\n\n a \n", "a", True),
])
def test_whitespace(raw: str, expected: str, keep: bool) -> None:
    assert clean_text(raw, keep_newlines=keep) == expected


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, pd.NaT])
def test_missing_values_become_empty(missing: object) -> None:
    assert clean_text(missing) == ""  # type: ignore[arg-type]


def test_non_strings_are_stringified() -> None:
    assert clean_text(12) == "12"  # type: ignore[arg-type]
    assert clean_texts(pd.Series(["<b>a</b>", None, " b "])) == ["a", "", "b"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_output_is_tidy(raw: str) -> None:
    out = clean_text(raw)
    assert out == out.strip()
    assert "  " not in out and "\n" not in out and "\t" not in out
    assert not re.search("[\x00-\x08\x0e-\x1f\x7f\ufeff\u200b]", out)
    kept = clean_text(raw, keep_newlines=True)
    assert "\n\n\n" not in kept and kept == kept.strip()


def test_real_toy_descriptions(shared_data) -> None:
    toys = pd.read_csv(shared_data / "amazon-uk-toys-catalog" / "toys_uk_863.csv")
    raw = toys["product_description"]
    cleaned = clean_texts(raw)
    assert len(cleaned) == 863
    assert sum(1 for t in cleaned if t) == raw.notna().sum()
    with_html = raw.fillna("").str.contains(r"</?(?:li|br|p|b)\b", case=False, regex=True)
    assert with_html.sum() >= 5  # the catalog really has markup to clean
    for text in cleaned:
        assert not re.search(r"</?(?:li|br|p|b)\b[^>]*>", text, re.IGNORECASE)
        assert "http" not in text and "  " not in text
        assert clean_text(text) == text  # idempotent on real text
    # Markup removal keeps the words around it.
    dress = next(t for t in cleaned if "Vamp Costume" in t)
    assert dress.endswith("Box Contains 1x Dress")


def test_real_chinese_reviews(shared_data) -> None:
    with zipfile.ZipFile(shared_data / "zh-online-shopping-10cats" / "online_shopping_10_cats.zip") as zf:
        reviews = pd.read_csv(zf.open("online_shopping_10_cats.csv"))["review"]
    sample = reviews.iloc[:3000]
    cleaned = clean_texts(sample)
    assert not cleaned[0].startswith("\ufeff") and sample.iloc[0].startswith("\ufeff")
    han = re.compile(r"[\u4e00-\u9fff]")
    for raw, text in zip(sample, cleaned, strict=True):
        if isinstance(raw, str):
            # Cleaning never loses Chinese characters outside URLs.
            assert len(han.findall(text)) == len(han.findall(remove_urls(raw)))
