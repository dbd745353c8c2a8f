"""The words of a shopping query that are restrictions rather than product words: a budget ("under £20",
"max 5 pounds", "a tenner", "20英镑以内", "不超过15英镑") and a child's age ("for my 5 year old", "toddler",
"十岁男孩"), in English and Chinese; and the one test of whether an item is fit for a child of that age.

Search turns these words into filters (:meth:`shopsense.search.ProductSearch.search`); the assistant keeps
them in its dialogue state (:mod:`shopsense.assistant.constraints`). An item is for a child of ``age``
months when the catalog says so: its ``min_age_months`` is known and at most ``age`` (and its
``max_age_months``, when given, at least ``age``), and it is not an adult item (adult category or title
words, collectors' memorabilia). A child's age is never relaxed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

_NUM = r"\d+(?:\.\d{1,2})?"
_ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
              "十": 10, "半": 0.5}
_ZH_NUM = r"[零一二两三四五六七八九十]{1,3}"
_CUR_BEFORE = r"(?:£|\$|€|GBP\s?)"
_CUR_AFTER = r"(?:\s?(?:pounds?|quid|gbp|bucks|英镑|镑|磅|元|块钱|块))"
_WORD_AMOUNTS = {"a tenner": 10.0, "tenner": 10.0, "a fiver": 5.0, "fiver": 5.0, "a score": 20.0}
_NOT_MONEY = r"(?!\s*(?:years?|yrs?|months?|岁|个月|pieces?|pcs|cm|mm|piece|inch))"


def _amount(name: str) -> str:
    """An amount with its currency before or after, or a bare number (named groups ``<name>a/b/c``)."""
    return (f"(?:{_CUR_BEFORE}\\s?(?P<{name}a>{_NUM})|(?P<{name}b>{_NUM}|{_ZH_NUM}){_CUR_AFTER}"
            f"|(?P<{name}c>{_NUM}){_NOT_MONEY})")


def _zh_number(text: str) -> float | None:
    """一 .. 九十九 (and 两, 半) as a number; None when it is not one."""
    if not text:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if text in _ZH_DIGITS:
        return float(_ZH_DIGITS[text])
    if "十" in text:
        tens, _, ones = text.partition("十")
        high = _ZH_DIGITS.get(tens, 1) if tens else 1
        low = _ZH_DIGITS.get(ones, 0) if ones else 0
        return float(high * 10 + low)
    return None


def _value(match: re.Match[str], name: str) -> float | None:
    for suffix in "abc":
        raw = match.group(f"{name}{suffix}")
        if raw:
            return _zh_number(raw)
    return None


_MAX_BEFORE = (r"under|below|less than|cheaper than|up to|no more than|not more than|at most|max(?:imum)?|within"
               r"|lower than|no more|budget(?: is| of)?|spend(?:ing)?|around|about|roughly|approx(?:imately)?")
_BUDGET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"\bbetween\s+{_amount('lo')}\s+and\s+{_amount('hi')}", re.I), "between"),
    (re.compile(rf"{_amount('lo')}\s?(?:-|–|to|到|至)\s?{_amount('hi')}", re.I), "between"),
    (re.compile(rf"\b(?P<how>{_MAX_BEFORE})\s+(?:of\s+|is\s+)?(?:a\s+)?{_amount('hi')}", re.I), "max"),
    (re.compile(rf"(?:{_CUR_BEFORE}\s?(?P<hia>{_NUM})|(?P<hib>{_NUM}){_CUR_AFTER})\s+"
                r"(?:max(?:imum)?|or less|tops|at most|or under)\b", re.I), "max"),
    (re.compile(rf"(?:不超过|不到|低于|少于|最多|预算)\s?(?:是)?\s?{_amount('hi')}", re.I), "max"),
    (re.compile(rf"(?:{_CUR_BEFORE}\s?(?P<hia>{_NUM})|(?P<hib>{_NUM}|{_ZH_NUM}){_CUR_AFTER}|(?P<hic>{_NUM}))\s?(?:以下|以内|之内|左右)",
                re.I), "max"),
    (re.compile(rf"\b(?:over|above|more than|at least|starting at|min(?:imum)?)\s+{_amount('lo')}", re.I), "min"),
    (re.compile(rf"(?:{_CUR_BEFORE}\s?(?P<loa>{_NUM})|(?P<lob>{_NUM}|{_ZH_NUM}){_CUR_AFTER})\s?以上", re.I), "min"),
    (re.compile(r"\b(?:under|below|less than|up to|for|about|around|max)?\s*(?P<word>a tenner|tenner|a fiver|fiver)\b",
                re.I), "word"),
)
_APPROX = re.compile(r"around|about|roughly|approx|左右", re.I)


@dataclass(frozen=True)
class Budget:
    """A price range asked for (either bound may be open) and where the message said it."""

    min_price: float | None = None
    max_price: float | None = None
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def given(self) -> bool:
        return self.min_price is not None or self.max_price is not None


def parse_budget(text: str) -> Budget:
    """The budget in a message ("under £20" -> max 20; "around £15" -> max 15 with a little room: 18)."""
    low = high = None
    spans: list[tuple[int, int]] = []
    for regex, kind in _BUDGET_PATTERNS:
        for m in regex.finditer(text):
            if any(s <= m.start() < e or s < m.end() <= e for s, e in spans):
                continue
            if kind == "word":
                high = _WORD_AMOUNTS[m.group("word").lower()]
            elif kind == "between":
                a, b = _value(m, "lo"), _value(m, "hi")
                if a is None or b is None:
                    continue
                low, high = min(a, b), max(a, b)
            elif kind == "max":
                value = _value(m, "hi")
                if value is None:
                    continue
                high = round(value * 1.2, 2) if _APPROX.search(m.group(0)) else value
            else:
                low = _value(m, "lo")
                if low is None:
                    continue
            spans.append((m.start(), m.end()))
    if low is not None and high is not None and low > high:
        low = None
    return Budget(low, high, tuple(sorted(spans)))


# ------------------------------------------------------------------ ages
_AGE_WORDS_EN: tuple[tuple[str, float], ...] = (
    (r"new[- ]?born|newborns?", 3), (r"bab(?:y|ies)|infants?", 6), (r"toddlers?", 24), (r"pre[- ]?school(?:er)?s?", 48),
    (r"tweens?", 120), (r"teen(?:ager|age|aged)?s?", 156),
)
_AGE_WORDS_ZH: tuple[tuple[str, float], ...] = (
    (r"新生儿", 3), (r"婴儿|宝宝", 6), (r"幼儿|学步", 24), (r"幼儿园", 48), (r"小学生", 96), (r"初中生|青少年", 156),
)
_NUMBER_WORDS_EN = {w: n for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen".split())}
_EN_NUM = rf"(?:\d{{1,2}}(?:\.5)?|{'|'.join(_NUMBER_WORDS_EN)})"
_AGE_EN = re.compile(
    rf"\b(?P<n>{_EN_NUM})[- ]?(?:and a half[- ])?(?P<unit>years?|yrs?|yo|y/o|months?|mths?|mos?)(?:[- ]old)?\b"
    rf"|\b(?:aged?|ages)\s+(?P<n2>{_EN_NUM})\b|\bturn(?:ing|s)?\s+(?P<n3>{_EN_NUM})\b"
    rf"|\b(?:he|she|son|daughter|grand(?:son|daughter|child)|nephew|niece|boy|girl|child|kid)(?:'s|\s+is)\s+"
    rf"(?P<n4>{_EN_NUM})\b(?!\s*(?:pounds|quid|£))", re.I)
_AGE_ZH = re.compile(rf"(?P<n>\d{{1,2}}|{_ZH_NUM})(?P<half>半)?(?P<unit>岁|周岁|个月)(?P<half2>半)?")
_CHILD_EN = re.compile(r"\b(?:kids?|child(?:ren)?|son|daughter|grand(?:son|daughter|child(?:ren)?)|nephew|niece|boys?"
                       r"|girls?|little one|godchild|my (?:little )?(?:boy|girl)|children's|kid's)\b", re.I)
_CHILD_ZH = re.compile(r"孩子|小孩|儿童|儿子|女儿|孙子|孙女|外孙|侄子|侄女|外甥|男孩|女孩|小朋友|宝宝|婴儿|幼儿")
_ADULT_RECIPIENT = re.compile(r"\bfor (?:my |a |an )?(?:husband|wife|boyfriend|girlfriend|dad|mum|mom|father|mother"
                              r"|grandad|grandma|granny|colleague|boss|adults?|men|women|a man|a woman|myself)\b"
                              r"|老公|老婆|丈夫|妻子|男朋友|女朋友|爸爸|妈妈|父亲|母亲|爷爷|奶奶|同事|大人|成人|自己",
                              re.I)


@dataclass(frozen=True)
class Audience:
    """Who the product is for, as far as the message says: a child (of ``age_months`` when given) or not."""

    child: bool | None = None  # True: a child; False: an adult; None: not said
    age_months: float | None = None
    spans: tuple[tuple[int, int], ...] = field(default_factory=tuple)


def _age_number(raw: str) -> float | None:
    raw = raw.lower()
    return float(_NUMBER_WORDS_EN[raw]) if raw in _NUMBER_WORDS_EN else _zh_number(raw)


def parse_audience(text: str) -> Audience:
    """The recipient in a message: "for my 5 year old" -> a child of 60 months; "toddler" -> 24; "十岁男孩" -> 120."""
    age = None
    spans: list[tuple[int, int]] = []
    for m in _AGE_EN.finditer(text):
        number = _age_number(m.group("n") or m.group("n2") or m.group("n3") or m.group("n4"))
        if number is None:
            continue
        if "and a half" in m.group(0).lower():
            number += 0.5
        unit = (m.group("unit") or "years").lower()
        age = number if unit.startswith("m") else number * 12
        spans.append((m.start(), m.end()))
        break
    if age is None:
        for m in _AGE_ZH.finditer(text):
            number = _age_number(m.group("n"))
            if number is None:
                continue
            if m.group("half") or m.group("half2"):
                number += 0.5
            age = number if m.group("unit") == "个月" else number * 12
            spans.append((m.start(), m.end()))
            break
    if age is None:
        words = [(rf"\b(?:{p})\b", n) for p, n in _AGE_WORDS_EN] + list(_AGE_WORDS_ZH)
        for pattern, months in words:
            m = re.search(pattern, text, re.I)
            if m:
                age = float(months)
                spans.append((m.start(), m.end()))
                break
    if age is not None and age >= 18 * 12:
        return Audience(False, None, tuple(spans))
    child = True if age is not None or _CHILD_EN.search(text) or _CHILD_ZH.search(text) else None
    if child is None and _ADULT_RECIPIENT.search(text):
        child = False
    return Audience(child, age, tuple(spans))


# ------------------------------------------------------------------ fit for a child
# Adult items by their category path or title; collectors' pieces are not children's toys whatever their label.
_ADULT_CATEGORY = re.compile(r"\badults?\b|novelty & special use|barware|collectible|memorabilia|^women\b|^men\b"
                             r"|bobblehead", re.I)
_ADULT_TITLE = re.compile(
    r"\b(?:adults?|mens|men's|ladies|womens|women's|stag|hen (?:party|night|do)|sexy|vamp|beer|wine|vodka|gin|"
    r"prosecco|champagne|cocktail|shots?|(?:1[89]|[2-9]\d|1\d\d)(?:st|nd|rd|th)|communist|soviet|anarchy|punk|fishnet|"
    r"lingerie|burlesque|pub|drinking|xx-large|x-large|2x-large|3x-large)\b", re.I)
CHILD_WITHOUT_AGE_MAX_MONTHS = 144  # "for my son": nothing marked for teenagers and up
# Kinds of item the catalog often labels "0+" or "3+" by default but that are for older children.
_CATEGORY_MIN_MONTHS = ((re.compile(r"trading cards", re.I), 72), (re.compile(r"model building kits", re.I), 96))
_JIGSAW = re.compile(r"jigsaw|puzzle", re.I)
_PIECES = re.compile(r"\b(\d{2,5})\s*(?:pieces?|pcs|pc)\b", re.I)


def _jigsaw_pieces(title: str, category: str, pieces: float | None) -> float | None:
    if pieces is None:
        match = _PIECES.search(title)
        pieces = float(match.group(1)) if match else None
    return pieces if _JIGSAW.search(f"{title} {category}") else None


def pieces_for_age(age_months: float) -> float:
    """The most jigsaw pieces for a child of that age (a 3-year-old 24, a 5-year-old 100, a 10-year-old 500)."""
    return 24 if age_months < 48 else 100 if age_months < 84 else 300 if age_months < 120 else 500


def _months(attributes: Any, key: str) -> float | None:
    value = attributes.get(key) if isinstance(attributes, dict) else None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def is_adult_item(title: str, category: str) -> bool:
    """An item no child should be offered: adult category or adult words in its title."""
    return bool(_ADULT_CATEGORY.search(category or "") or _ADULT_TITLE.search(title or ""))


@dataclass(frozen=True)
class ChildFit:
    """What the catalog says of an item's audience: adult, the ages it is for (``low`` None: no age given,
    never offered for a child), and a jigsaw's piece count."""

    adult: bool
    low: float | None
    high: float | None
    pieces: float | None


def child_fit(row: dict[str, Any]) -> ChildFit:
    """The item's :class:`ChildFit`, read once per distinct item (the assistant checks hundreds a turn)."""
    attributes = row.get("attributes") or {}
    return _child_fit(str(row.get("title", "")), str(row.get("category", "")), _months(attributes, "min_age_months"),
                      _months(attributes, "max_age_months"), _months(attributes, "pieces"))


@lru_cache(maxsize=1 << 16)
def _child_fit(title: str, category: str, low: float | None, high: float | None, pieces: float | None) -> ChildFit:
    if low is not None:
        for pattern, months in _CATEGORY_MIN_MONTHS:
            if pattern.search(category):
                low = max(low, months)
    return ChildFit(is_adult_item(title, category), low, high, _jigsaw_pieces(title, category, pieces))


def fit_for_child(row: dict[str, Any], age_months: float | None) -> bool:
    """Whether the catalog says the item suits a child of ``age_months`` (None: a child of unknown age)."""
    return fits_child(child_fit(row), age_months)


def fits_child(fit: ChildFit, age_months: float | None) -> bool:
    """:func:`fit_for_child` on an item's :class:`ChildFit` already read."""
    if fit.adult or fit.low is None:
        return False  # no age on the item: not offered for a child
    if age_months is None:
        return fit.low <= CHILD_WITHOUT_AGE_MAX_MONTHS
    if fit.pieces is not None and fit.pieces > pieces_for_age(age_months):
        return False
    return fit.low <= age_months and (fit.high is None or fit.high >= age_months)


def age_text(age_months: float, language: str = "en") -> str:
    """"a 5-year-old" / "an 18-month-old" / "5岁的孩子"."""
    if language == "zh":
        return f"{age_months / 12:g}岁的孩子" if age_months >= 24 else f"{age_months:g}个月大的宝宝"
    if age_months >= 24:
        years = age_months / 12
        return f"{'an' if int(years) in (8, 11, 18) else 'a'} {years:g}-year-old"
    return f"{'an' if int(age_months) in (8, 11, 18) else 'a'} {age_months:g}-month-old"


def strip_spans(text: str, spans: tuple[tuple[int, int], ...] | list[tuple[int, int]]) -> str:
    """The text with the given spans blanked out."""
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return re.sub(r"\s+", " ", text).strip()


__all__ = ["Audience", "Budget", "age_text", "fit_for_child", "is_adult_item", "parse_audience", "parse_budget",
           "strip_spans"]
