"""Checks every ad-copy variant must pass before a shopper can see it.

:class:`CopyChecker` runs the shared :class:`~shopsense.text.grounding.GroundingCheck` (prices, policy
numbers, other catalog titles, contact details, banned words) and adds what matters for marketing text:

* **numbers** - every number in the copy must appear in the item's facts ("20 pieces", "ages 3+");
* **claims** - product claims a store is liable for ("waterproof", "non-toxic", "防水", "纯棉") and
  colour / material words must be backed by the facts (description, attributes or review evidence);
* **superlatives** a store cannot prove ("best", "#1", "cheapest", "最", "第一") are never allowed
  in the store's own voice;
* **length** - the channel's character limit.

:func:`repair` drops the offending sentences of a long variant; a headline with any violation is
rejected. :func:`near_duplicates` removes variants too similar to a kept one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shopsense.core.language import cjk_share
from shopsense.text.grounding import Facts, GroundingCheck

CHANNEL_LIMITS = {"headline": 30, "short": 90, "description": 500}

# Words that would make a legal or factual promise; allowed only when the facts say so.
CLAIM_WORDS_EN = (
    "waterproof", "water-resistant", "non-toxic", "bpa-free", "organic", "eco-friendly", "sustainable",
    "handmade", "hand-made", "certified", "award-winning", "award winning", "rechargeable", "wireless",
    "washable", "dishwasher safe", "unbreakable", "indestructible", "hypoallergenic", "guarantee", "warranty",
    "free shipping", "free delivery", "clinically", "recyclable", "biodegradable", "battery-free",
    "batteries included", "no batteries", "bluetooth", "app-controlled", "remote control", "glow in the dark",
)
CLAIM_WORDS_ZH = ("防水", "无毒", "环保", "有机", "纯棉", "真丝", "手工", "认证", "获奖", "包邮", "保修", "正品",
                  "进口", "可充电", "无线", "可水洗", "抗菌", "防摔", "不褪色", "蓝牙", "遥控")
COLOUR_WORDS_EN = ("red", "blue", "green", "yellow", "pink", "purple", "orange", "black", "white", "grey", "gray",
                   "brown", "gold", "silver", "beige", "navy", "turquoise", "multicolour", "multicolor", "rainbow")
COLOUR_WORDS_ZH = ("红色", "蓝色", "绿色", "黄色", "粉色", "紫色", "橙色", "黑色", "白色", "灰色", "棕色", "金色",
                   "银色", "米色", "藏青", "卡其", "杏色", "酒红")
MATERIAL_WORDS_EN = ("wood", "wooden", "plastic", "metal", "steel", "aluminium", "aluminum", "cotton", "wool",
                     "silk", "leather", "rubber", "silicone", "bamboo", "fabric", "plush", "foam", "cardboard",
                     "ceramic", "glass", "polyester", "denim", "linen")
MATERIAL_WORDS_ZH = ("木质", "实木", "塑料", "金属", "不锈钢", "棉", "羊毛", "真皮", "皮革", "硅胶", "竹", "牛仔布",
                     "雪纺", "针织", "涤纶", "亚麻", "蕾丝", "毛呢")
SUPERLATIVES_EN = (
    r"best(?:[- ]selling|[- ]seller)?", r"#\s?1", r"no\.?\s?1", r"number one", r"cheapest", r"lowest price",
    r"world'?s", r"unbeatable", r"ultimate", r"greatest", r"finest", r"top[- ]rated", r"perfect", r"flawless",
    r"unrivalled", r"unrivaled", r"unmatched", r"most popular", r"revolutionary", r"100\s?%", r"guaranteed",
)
SUPERLATIVES_ZH = ("最", "第一", "顶级", "极致", "唯一", "国家级", "全网", "绝对", "万能", "史上", "冠军", "首选",
                   "100%")
# Wording that announces a reduced price; allowed only when the facts hold a sale price (a ":sale_price",
# ":was_price" or ":compare_at_price" fact): a store's data rarely does, and "Now £2.87" then misleads.
SALE_PATTERNS_EN = (
    r"now\s+(?:only\s+|just\s+)?(?:US\$|[£$€¥])", r"on sale", r"sale price", r"reduced", r"was\s+(?:US\$|[£$€¥])",
    r"save\s+(?:up to\s+)?(?:US\$|[£$€¥]|\d+\s?%)", r"\d+\s?%\s+off", r"discount(?:ed)?", r"clearance",
    r"price drop", r"half price", r"special offer",
)
SALE_WORDS_ZH = ("特价", "促销", "打折", "折扣", "限时", "降价", "优惠", "现价", "立减", "直降", "折后")
SALE_FACT_KEYS = (":sale_price", ":was_price", ":compare_at_price")
DEFAULT_BANNED = ("cure", "miracle", "risk-free", "act now", "click here", "limited time", "no-brainer", "免费",
                  "秒杀", "抄底")

_SUPER_EN_RE = re.compile(r"(?<!\w)(?:" + "|".join(SUPERLATIVES_EN) + r")(?!\w)", re.IGNORECASE)
_SALE_EN_RE = re.compile(r"(?<!\w)(?:" + "|".join(SALE_PATTERNS_EN) + r")", re.IGNORECASE)
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")
# A sentence ends at . ! ? followed by a space or the end (not "£2.87"), or at Chinese end punctuation.
_SENTENCE_RE = re.compile(r"\S.*?(?:[.!?][\"”’)]*(?=\s|$)|[。！？][\"”’)]*|$)\s*", re.DOTALL)


def _word_re(words: Sequence[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b",
                      re.IGNORECASE)


_CLAIM_EN_RE = _word_re(CLAIM_WORDS_EN)
_COLOUR_EN_RE = _word_re(COLOUR_WORDS_EN)
_MATERIAL_EN_RE = _word_re(MATERIAL_WORDS_EN)


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER_RE.findall(text)}


def _normalise_number(raw: str) -> str:
    try:
        value = float(raw)
    except ValueError:
        return raw
    return f"{value:g}"


@dataclass
class CheckResult:
    """The verdict on one text: violations found, and the limit it was measured against."""

    passed: bool
    violations: list[str] = field(default_factory=list)
    length: int = 0
    limit: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "violations": list(self.violations), "length": self.length,
                "limit": self.limit}


class CopyChecker:
    """Checks ad copy against one item's :class:`Facts` (see the module docstring for the rules)."""

    def __init__(self, facts: Facts, channel: str, banned_words: Sequence[str] = DEFAULT_BANNED) -> None:
        if channel not in CHANNEL_LIMITS:
            raise ValueError(f"channel must be one of {', '.join(CHANNEL_LIMITS)}, not {channel!r}")
        self.facts, self.channel, self.limit = facts, channel, CHANNEL_LIMITS[channel]
        self.banned_words = tuple(banned_words)
        self._grounding = GroundingCheck(facts, self.banned_words)
        self._corpus = facts.corpus().casefold()
        self._fact_numbers = {_normalise_number(n) for n in _numbers(self._corpus)}
        self._on_sale = any(f.key.endswith(SALE_FACT_KEYS) for f in facts.facts)
        # A product or brand name may contain a superlative ("Perfect Petzzz"); naming it proves nothing.
        self._names = sorted({str(f.value).casefold() for f in facts.facts
                              if (f.kind == "product" or f.key.endswith(":brand"))
                              and isinstance(f.value, str) and f.value.strip()}, key=len, reverse=True)

    def _supported(self, phrase: str) -> bool:
        phrase = phrase.casefold()
        if phrase.isascii():
            return re.search(rf"\b{re.escape(phrase)}", self._corpus) is not None
        return phrase in self._corpus

    def violations(self, text: str) -> list[str]:
        """Every rule ``text`` breaks (empty list: it may be shown)."""
        found = list(self._grounding.check(text))
        for number in sorted(_numbers(text)):
            if _normalise_number(number) not in self._fact_numbers:
                found.append(f"number {number} is not in the facts")
        for pattern, what in ((_CLAIM_EN_RE, "claim"), (_COLOUR_EN_RE, "colour"), (_MATERIAL_EN_RE, "material")):
            for match in dict.fromkeys(m.group(0).lower() for m in pattern.finditer(text)):
                if not self._supported(match):
                    found.append(f"{what} '{match}' is not supported by the facts")
        for words, what in ((CLAIM_WORDS_ZH, "claim"), (COLOUR_WORDS_ZH, "colour"), (MATERIAL_WORDS_ZH, "material")):
            for word in words:
                # "黑白色调" contains 白色: a colour is backed when its root (白) is in the facts
                root = word[:-1] if what == "colour" and word.endswith("色") else word
                if word in text and not self._supported(root):
                    found.append(f"{what} '{word}' is not supported by the facts")
        if not self._on_sale:
            for match in dict.fromkeys(m.group(0).lower() for m in _SALE_EN_RE.finditer(text)):
                found.append(f"sale wording '{match}' without a sale price in the facts")
            for word in SALE_WORDS_ZH:
                if word in text:
                    found.append(f"sale wording '{word}' without a sale price in the facts")
        unnamed = text.casefold()
        for name in self._names:
            unnamed = unnamed.replace(name, " ")
        for match in dict.fromkeys(m.group(0) for m in _SUPER_EN_RE.finditer(unnamed)):
            found.append(f"superlative '{match}' cannot be proved")
        for word in SUPERLATIVES_ZH:
            if word in unnamed:
                found.append(f"superlative '{word}' cannot be proved")
        if len(text) > self.limit:
            found.append(f"{len(text)} characters, over the {self.channel} limit of {self.limit}")
        if not text.strip():
            found.append("empty text")
        return list(dict.fromkeys(found))

    def check(self, text: str) -> CheckResult:
        found = self.violations(text)
        return CheckResult(passed=not found, violations=found, length=len(text), limit=self.limit)


def split_sentences(text: str) -> list[str]:
    """Sentences of English or Chinese copy, each keeping its end punctuation and trailing space."""
    return [s for s in _SENTENCE_RE.findall(text) if s.strip()]


def repair(text: str, checker: CopyChecker, required: Sequence[str] = ()) -> tuple[str, list[str]]:
    """Drop the sentences that break a rule, and trailing sentences past the length limit.

    Returns the repaired text ("" when nothing useful is left: empty, or none of the ``required`` names,
    i.e. the product is no longer named) and the sentences removed. Headlines are never repaired: a
    headline with any violation is rejected whole.
    """
    if checker.channel == "headline":
        return ("", [text]) if checker.violations(text) else (text, [])
    kept, removed = [], []
    for sentence in split_sentences(text):
        rules = [v for v in checker.violations(sentence) if "over the" not in v]
        (removed if rules else kept).append(sentence)
    while kept and len("".join(kept).strip()) > checker.limit:
        removed.append(kept.pop())
    repaired = "".join(kept).strip()
    folded = repaired.casefold()
    if required and not any(r.casefold() in folded for r in required if r):
        return "", [text]
    if repaired and checker.violations(repaired):
        return "", [text]
    return repaired, removed


def _shingles(text: str, n: int = 3) -> set[str]:
    folded = re.sub(r"\s+", " ", text.casefold()).strip()
    if len(folded) <= n:
        return {folded}
    return {folded[i:i + n] for i in range(len(folded) - n + 1)}


def similarity(a: str, b: str, ignore: Sequence[str] = ()) -> float:
    """Jaccard similarity of character 3-grams (language-independent, so it works for Chinese too).

    ``ignore``: phrases removed first (the product's name: every variant repeats it, which does not
    make two variants say the same thing)."""
    for phrase in sorted((p.casefold() for p in ignore if p), key=len, reverse=True):
        a, b = a.casefold().replace(phrase, " "), b.casefold().replace(phrase, " ")
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / max(1, len(sa | sb))


def near_duplicates(texts: Sequence[str], threshold: float = 0.6, ignore: Sequence[str] = ()) -> list[int]:
    """Indexes of texts whose similarity to an earlier kept text is at least ``threshold``."""
    kept: list[str] = []
    dropped = []
    for i, text in enumerate(texts):
        if any(similarity(text, k, ignore) >= threshold for k in kept):
            dropped.append(i)
        else:
            kept.append(text)
    return dropped


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Distinct-n: unique n-grams over all n-grams of the texts (words in English, characters in Chinese)."""
    grams: list[tuple[str, ...]] = []
    for text in texts:
        chinese = cjk_share(text) > 0.25
        units = [c for c in text if not c.isspace()] if chinese else re.findall(r"[\w'£$€.-]+", text.lower())
        grams.extend(tuple(units[i:i + n]) for i in range(len(units) - n + 1))
    return len(set(grams)) / len(grams) if grams else 0.0
