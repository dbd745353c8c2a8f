"""Fast language detection for store text: English, Chinese, or something else.

No model and no extra dependency: the script of the letters decides between Chinese (Han characters)
and Latin text, and for Latin text a handful of very common function words decides between English
and other Latin-script languages (French, German, Spanish, ...). Mixed text goes to the dominant
language, weighing one Han character like two Latin letters (a Chinese word is ~1.5 characters, an
English one ~5 letters) and a capital letter as half a letter (acronyms and model names).

It is also the one place that says which characters are Chinese:

- CJK ideographs (:data:`CJK_CHARS`, the CJK Unified Ideographs block U+4E00-U+9FFF, which holds the
  characters of everyday Chinese text): :func:`is_cjk`, :func:`has_cjk`, :func:`cjk_count` and
  :func:`cjk_share`, the quick "is this Chinese?" tests used across the code base.
- Han characters (:data:`HAN_CHARS`: that block plus Extension A and the compatibility ideographs):
  :func:`has_han`; what :func:`detect_language` counts and what tokenization hands to jieba.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

Language = Literal["en", "zh", "other"]

# Character-class bodies, for building other patterns: f"[{CJK_CHARS}]".
CJK_CHARS = "\u4e00-\u9fff"
HAN_CHARS = "\u3400-\u4dbf" + CJK_CHARS + "\uf900-\ufaff"
_CJK_RE = re.compile(f"[{CJK_CHARS}]")
_HAN_RE = re.compile(f"[{HAN_CHARS}]")
_KANA_HANGUL_RE = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uac00-\ud7af\u1100-\u11ff]")
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u024f]")
_UPPER_RE = re.compile(r"[A-Z]")
# Letters of other scripts: Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai, ...
_OTHER_LETTER_RE = re.compile(r"[\u0370-\u03ff\u0400-\u052f\u0590-\u06ff\u0900-\u0dff\u0e00-\u0eff]")
_WORD_RE = re.compile(r"[a-z\u00e0-\u024f']+")
_HAN_WEIGHT = 2.0
_SAMPLE_CHARS = 1000

# Frequent words that are (nearly) unique to each language; ambiguous ones ("a", "de", "in") left out.
_EN_WORDS = frozenset(
    "the and is it to of this that with was for my you not but are have very great good they on be "
    "i me we so just like would had were will can all one at what when which there their from an "
    "love works well really product nice use used bought quality".split())
_OTHER_WORDS = frozenset(
    # French
    "le la les et est un une des du pas je il elle nous vous avec pour sur très tres mais ce cette "
    "qui au aux "
    # German
    "der die das und ist nicht ich ein eine mit für fur auf sehr aber wir sie es zu dem den auch "
    # Spanish / Portuguese / Italian
    "el los las y es muy pero con para por una del lo que como más mas bien bueno buena não nao "
    "em um uma com muito il di che non per sono molto della ho ma e".split()) - _EN_WORDS


def is_cjk(char: str) -> bool:
    """Whether one character is a CJK ideograph (U+4E00-U+9FFF)."""
    return "\u4e00" <= char <= "\u9fff"


def has_cjk(text: str | None) -> bool:
    """Whether ``text`` holds at least one CJK ideograph (U+4E00-U+9FFF); empty or None: False."""
    return bool(text) and _CJK_RE.search(text) is not None


def cjk_count(text: str | None) -> int:
    """How many characters of ``text`` are CJK ideographs (U+4E00-U+9FFF)."""
    return len(_CJK_RE.findall(text)) if text else 0


def cjk_share(text: str | None) -> float:
    """The share of ``text``'s characters (all of them, spaces included) that are CJK ideographs; 0.0 if empty."""
    return cjk_count(text) / len(text) if text else 0.0


def has_han(text: str | None) -> bool:
    """Whether ``text`` holds at least one Han character (:data:`HAN_CHARS`, wider than :func:`has_cjk`)."""
    return bool(text) and _HAN_RE.search(text) is not None


def detect_language(text: str | None) -> Language:
    """``"en"``, ``"zh"`` or ``"other"`` for one text; empty or letter-less text is ``"other"``.

    Only the first 1,000 characters are read: enough to tell the language, and it keeps long
    descriptions as cheap as short reviews.
    """
    if not text or not isinstance(text, str):
        return "other"
    text = text[:_SAMPLE_CHARS]
    if text.isascii():
        # No Han, kana or other scripts possible: English unless there are no letters at all.
        return _latin_language(text) if _LATIN_RE.search(text) else "other"
    han = len(_HAN_RE.findall(text))
    latin = len(_LATIN_RE.findall(text))
    if han == 0 and latin == 0:
        return "other"
    # Japanese and Korean use Han characters too; any real share of kana/hangul means neither en nor zh.
    kana = len(_KANA_HANGUL_RE.findall(text))
    if kana and kana * 4 >= han:
        return "other"
    others = len(_OTHER_LETTER_RE.findall(text))
    # Capitals count half: Chinese text is full of acronyms and model names ("TF卡", "DVMP3").
    latin_score = latin - 0.5 * len(_UPPER_RE.findall(text)) if han else latin
    if han * _HAN_WEIGHT >= latin_score and han * _HAN_WEIGHT >= others:
        return "zh"
    if others > latin:
        return "other"
    return _latin_language(text)


def _latin_language(text: str) -> Language:
    words = set(_WORD_RE.findall(text.lower()))
    en = len(words & _EN_WORDS)
    other = len(words & _OTHER_WORDS)
    # Distinct words, so that a repeated "la la" is one French word; short texts without function
    # words ("Nice!", "Five stars") are English in an English store.
    if other >= 2 and other > en * 1.5:
        return "other"
    return "en"


def detect_languages(texts: Iterable[str | None]) -> list[Language]:
    """:func:`detect_language` for each text, in order."""
    return [detect_language(t) for t in texts]


def language_mix(texts: Iterable[str | None]) -> dict[str, Any]:
    """The share of each language among ``texts`` that hold letters: ``{"en": .., "zh": .., "other": ..,
    "texts": n}`` (shares sum to 1; all zero when no text has a letter).

    Texts without a letter ("!!!", "5/5", emoji) are left out rather than counted as "other": they say
    nothing about the language a model has to read.
    """
    counts = {"en": 0, "zh": 0, "other": 0}
    for text in texts:
        if text and isinstance(text, str) and any(ch.isalpha() for ch in text[:_SAMPLE_CHARS]):
            counts[detect_language(text)] += 1
    total = sum(counts.values())
    return {**{lang: (n / total if total else 0.0) for lang, n in counts.items()}, "texts": total}
