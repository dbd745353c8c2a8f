"""Tokenization: jieba for Chinese (lazy, private dictionary), regex words for English."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pandas as pd

from shopsense.text.tokenize import add_words, get_jieba, tokenize, tokenize_many


def test_english_tokens_are_lowercased_words() -> None:
    assert tokenize("Don't buy: the 3.5mm jack broke after 2 days... Wi-Fi OK!") == [
        "don't", "buy", "the", "3.5mm", "jack", "broke", "after", "2", "days", "wi", "fi", "ok"]
    assert tokenize("Über-cool café, naïve", lang="en") == ["über", "cool", "café", "naïve"]
    assert tokenize("") == [] and tokenize(None) == []
    assert tokenize("!!! ... ---") == []


def test_chinese_is_segmented_with_jieba() -> None:
    tokens = tokenize("这款手机的电池非常耐用,物流也很快!")
    assert "手机" in tokens and "电池" in tokens and "物流" in tokens
    assert "," not in tokens and "!" not in tokens
    assert all(t.strip() == t and t for t in tokens)
    # Latin words and numbers inside Chinese stay whole and are lower-cased.
    mixed = tokenize("这款iPhone手机续航3.5小时")
    assert "iphone" in mixed and "3.5" in mixed and "手机" in mixed


def test_han_characters_are_segmented_whatever_the_language_hint() -> None:
    # Dominant language English, but the Chinese part must not become one long token.
    tokens = tokenize("Great seller 质量很好物流很快", lang="en")
    assert "great" in tokens and "质量" in tokens and "物流" in tokens
    assert "质量很好物流很快" not in tokens


def test_add_words_keeps_catalog_names_whole() -> None:
    text = "我买了小米手环和华为手表"
    before = tokenize(text)
    assert "小米" in before and "手环" in before
    try:
        assert add_words(["小米手环", "  ", ""]) == 1
        after = tokenize(text)
        assert "小米手环" in after and "华为" in after
    finally:
        get_jieba().del_word("小米手环")  # the tokenizer is shared by the whole test session
    assert tokenize(text) == before


def test_tokenize_many_matches_tokenize() -> None:
    texts = ["good product", "很好", None]
    assert tokenize_many(texts) == [tokenize(t) for t in texts]


def test_jieba_is_lazy_and_private() -> None:
    code = ("import sys, shopsense.text.tokenize as t; assert 'jieba' not in sys.modules; "
            "t.tokenize('hello world'); assert 'jieba' not in sys.modules; "
            "t.tokenize('你好世界'); import jieba; assert t.get_jieba() is not jieba.dt; "
            "assert t.get_jieba() is t.get_jieba(); print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    # jieba's "Building prefix dict" chatter is silenced.
    assert "prefix dict" not in result.stderr


def test_real_chinese_reviews(shared_data) -> None:
    with zipfile.ZipFile(shared_data / "zh-online-shopping-10cats" / "online_shopping_10_cats.zip") as zf:
        reviews = pd.read_csv(zf.open("online_shopping_10_cats.csv"))["review"].dropna().iloc[::200]
    get_jieba()
    tokenized = tokenize_many(reviews)
    assert sum(1 for toks in tokenized if toks) >= 0.99 * len(reviews)
    lengths = [len(t) for toks in tokenized for t in toks]
    # Words, not sentences and not single characters only: jieba averages ~1.5 characters a token.
    assert 1.2 < sum(lengths) / len(lengths) < 2.5
