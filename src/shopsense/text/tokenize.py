"""Word tokenization for search, keyword extraction and classical models, in English and Chinese.

Chinese text is segmented with jieba; English (and other Latin-script text) is split by a regex into
lower-cased word tokens. Punctuation and whitespace never become tokens. jieba loads its dictionary
(and writes a cache file in the temp directory) on first use only: :func:`get_jieba` creates one
private ``jieba.Tokenizer`` lazily, so importing this module costs nothing and the process-wide default
jieba tokenizer that other libraries may use is left untouched.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from shopsense.core.language import has_han

if TYPE_CHECKING:
    import jieba

# Words, with inner apostrophes ("don't") and decimal points ("3.5mm") kept inside the token.
_WORD_RE = re.compile(r"[^\W_]+(?:(?:['’]|\.(?=\d))[^\W_]+)*")
_HAS_WORD_CHAR = re.compile(r"[^\W_]")

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def get_jieba() -> jieba.Tokenizer:
    """The shared jieba tokenizer, initialised (dictionary loaded) on the first call."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                _tokenizer = tokenizer
    return _tokenizer


def add_words(words: Iterable[str], freq: int | None = None) -> int:
    """Register catalog vocabulary (brands, product names) with jieba so it is kept as one token.

    Returns how many words were added. Words are stripped; empty ones are skipped.
    """
    tokenizer = get_jieba()
    added = 0
    for word in words:
        word = (word or "").strip()
        if word:
            tokenizer.add_word(word, freq=freq)
            added += 1
    return added


def tokenize(text: str | None, lang: str | None = None) -> list[str]:
    """Word tokens of ``text``, lower-cased, without punctuation or whitespace.

    ``lang`` is ``"zh"``, ``"en"`` or another code; with ``None`` any Han character makes the text
    Chinese (the dominant-language rule of :func:`~shopsense.core.language.detect_language` would send
    "好评 great product" to the regex, which cannot split Chinese). Chinese goes through jieba,
    which also keeps Latin words and numbers inside Chinese text whole ("iPhone手机" -> iphone, 手机).
    Any Han characters in text declared English are segmented by jieba too, so mixed text never yields
    a whole Chinese sentence as one token.
    """
    if not text:
        return []
    if lang == "zh" or has_han(text):
        return [tok.lower() for tok in _jieba_words(text)]
    return [tok.lower() for tok in _WORD_RE.findall(text)]


def _jieba_words(text: str) -> list[str]:
    out: list[str] = []
    for tok in get_jieba().lcut(text):
        tok = tok.strip()
        if tok and _HAS_WORD_CHAR.search(tok):
            out.append(tok)
    return out


def tokenize_many(texts: Iterable[str | None], lang: str | None = None) -> list[list[str]]:
    """:func:`tokenize` over many texts."""
    return [tokenize(t, lang=lang) for t in texts]
