"""Small wording rules shared by everything that writes or reads for people: counts with the right plural, the
short name a writer uses for a long catalog title, and a naive English singular."""

from __future__ import annotations

import re

_CUT_WORDS = {"for", "with", "and", "&", "-", "of", "in", "the", "a", "to", "by", "/", "+", "–"}


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``1 review``, ``2 reviews``, ``1,204 reviews`` (``plural`` for irregular words)."""
    return f"{n:,} {singular if n == 1 else (plural or singular + 's')}"


def short_name(title: str, limit: int = 30) -> str:
    """The name a writer would use: the title before " - ", "," or "(", cut at a word boundary to ``limit``."""
    main = re.split(r"\s[-–|]\s|,|\(|\[", title, maxsplit=1)[0].strip() or title.strip()
    if len(main) <= limit:
        return main
    if " " not in main:  # Chinese (or one long word): no word boundary to cut at
        return main[:limit].rstrip()
    words = main.split()
    out: list[str] = []
    for word in words:
        if len(" ".join([*out, word])) > limit:
            break
        out.append(word)
    while out and out[-1].lower() in _CUT_WORDS:
        out.pop()
    return " ".join(out) or main[:limit]


def singular(word: str) -> str:
    """A naive English singular of a lower-case word ("sets" -> "set", "boxes" -> "box", "batteries" ->
    "battery"), so that either form matches; words under four letters and "-ss" words stay as they are."""
    if not re.fullmatch(r"[a-z]{4,}", word):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
