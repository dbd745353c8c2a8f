"""Facts a generated text may use, and the check that rejects a text stating anything else.

A language model is only allowed to *phrase* what retrieval found. :class:`GroundingCheck` reads a
candidate reply or ad copy and lists every price, order status, policy number, catalog product title or
contact detail in it that the facts do not contain; callers then fall back to their template text.
The check is deliberately lexical: it has to be exact about numbers and names, and it runs in
microseconds, so every reply can afford it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

FACT_KINDS = ("product", "price", "order_status", "policy", "review", "attribute", "other")

_CURRENCY_BEFORE = r"(?:£|\$|€|¥|￥|US\$|USD|GBP|EUR|RMB|CNY)"
_CURRENCY_AFTER = r"(?:元|块钱|块|pounds?|dollars?|euros?|quid|bucks|usd|gbp|eur|rmb|cny|yuan)"
_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_MONEY_RE = re.compile(
    rf"{_CURRENCY_BEFORE}\s?(?P<a>{_AMOUNT})"
    rf"|(?P<b>{_AMOUNT})\s?{_CURRENCY_AFTER}(?![a-z])"
    # a bare amount with exactly two decimals reads as a price ("only 12.99!") unless a unit follows
    rf"|(?<![\d.])(?P<c>\d+\.\d{{2}})(?![\d.]|\s?(?:%|★|stars?|星|out of|/5|cm|mm|kg|g\b|in\b|inch))",
    re.IGNORECASE,
)

_STATUS_WORDS = {
    "shipped": "shipped", "dispatched": "shipped", "despatched": "shipped", "已发货": "shipped",
    "delivered": "delivered", "已签收": "delivered", "已送达": "delivered",
    "processing": "processing", "处理中": "processing", "待发货": "processing", "being prepared": "processing",
    "cancelled": "cancelled", "canceled": "cancelled", "已取消": "cancelled",
    "refunded": "refunded", "已退款": "refunded",
    "in transit": "in_transit", "out for delivery": "in_transit", "运输中": "in_transit", "配送中": "in_transit",
    "on hold": "on_hold", "awaiting payment": "pending", "待付款": "pending",
}  # "returned", "lost" and "pending" are left out: too common in ordinary policy sentences
_STATUS_RE = re.compile(
    "|".join(
        (re.escape(w) if not w.isascii() else rf"\b{re.escape(w)}\b")
        for w in sorted(_STATUS_WORDS, key=len, reverse=True)
    ),
    re.IGNORECASE,
)

_UNITS = {
    "day": "day", "days": "day", "business day": "day", "business days": "day", "working day": "day",
    "working days": "day", "天": "day", "个工作日": "day", "工作日": "day", "日": "day",
    "hour": "hour", "hours": "hour", "小时": "hour", "week": "week", "weeks": "week", "周": "week", "星期": "week",
    "month": "month", "months": "month", "个月": "month", "月": "month", "year": "year", "years": "year", "年": "year",
    "%": "percent", "percent": "percent", "per cent": "percent",
}
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "fourteen": 14, "fifteen": 15, "twenty": 20, "thirty": 30, "sixty": 60, "ninety": 90}
_POLICY_RE = re.compile(
    r"(?P<n>\d+(?:\.\d+)?|\b(?:" + "|".join(_NUMBER_WORDS) + r"))\s?-?\s?"
    r"(?P<u>business days?|working days?|days?|hours?|weeks?|months?|years?|per cent|percent|%"
    r"|个工作日|工作日|天|小时|周|星期|个月|年)",
    re.IGNORECASE,
)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"')]+", re.IGNORECASE)
_PLACEHOLDER_RE = re.compile(r"\[[A-Za-z_ ]{2,30}\]|\{\{.*?\}\}|<[a-z_]+>")
_DATE_RE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}")
_PHONE_RE = re.compile(r"(?<![\w.])\+?\d[\d\s().-]{6,}\d(?![\w.])")


@dataclass(frozen=True)
class Fact:
    """One grounded statement a generated text may repeat, with the id of the record it came from.

    ``kind`` is one of :data:`FACT_KINDS`; ``key`` the source id (item id, FAQ id, order id, review id);
    ``text`` a readable sentence; ``value`` the exact value (a price, a status, a product title) if any.
    """

    kind: str
    key: str
    text: str
    value: str | float | int | None = None

    def __post_init__(self) -> None:
        if self.kind not in FACT_KINDS:
            raise ValueError(f"fact kind {self.kind!r} is not one of {', '.join(FACT_KINDS)}")


@dataclass
class Facts:
    """The facts one reply may use, plus the catalog's titles (products it must not name unless listed)."""

    facts: list[Fact] = field(default_factory=list)
    known_titles: Sequence[str] = ()

    def add(self, kind: str, key: str, text: str, value: str | float | int | None = None) -> Facts:
        self.facts.append(Fact(kind, key, text, value))
        return self

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys(f.key for f in self.facts))

    def _texts(self) -> Iterable[str]:
        for fact in self.facts:
            yield fact.text
            if fact.value is not None:
                yield str(fact.value)

    def allowed_prices(self) -> set[Decimal]:
        prices = {amount for text in self._texts() for amount in money_amounts(text)}
        for fact in self.facts:
            if fact.kind == "price" and fact.value is not None:
                amount = _decimal(str(fact.value))
                if amount is not None:
                    prices.add(amount)
        return prices

    def allowed_statuses(self) -> set[str]:
        return {status for text in self._texts() for status in order_statuses(text)}

    def allowed_policy_numbers(self) -> set[tuple[Decimal, str]]:
        return {n for text in self._texts() for n in policy_numbers(text)}

    def allowed_products(self) -> set[str]:
        titles = {str(f.value) for f in self.facts if f.kind == "product" and f.value is not None}
        return {t.casefold() for t in titles}

    def render(self) -> str:
        """The facts as a bulleted data block for a prompt (angle brackets escaped, see :func:`quote_data`)."""
        return "\n".join(f"- [{f.kind}] {quote_data(f.text)}" for f in self.facts) or "- (no facts)"

    def corpus(self) -> str:
        return "\n".join(self._texts())


def quote_data(text: str) -> str:
    """Text that came from outside (a shopper, a review) made safe to sit inside a delimited prompt block:
    it cannot close the block or open a new one."""
    return str(text).replace("<", "‹").replace(">", "›")


def _decimal(raw: str) -> Decimal | None:
    try:
        return Decimal(raw.replace(",", "")).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def money_amounts(text: str) -> list[Decimal]:
    """Every money amount in ``text`` ("£12.99", "12.99 pounds", "99元", "$1,200") as a 2-decimal number."""
    amounts = []
    for match in _MONEY_RE.finditer(text):
        raw = match.group("a") or match.group("b") or match.group("c")
        amount = _decimal(raw)
        if amount is not None:
            amounts.append(amount)
    return amounts


def order_statuses(text: str) -> set[str]:
    return {_STATUS_WORDS[m.group(0).lower()] if m.group(0).isascii() else _STATUS_WORDS[m.group(0)]
            for m in _STATUS_RE.finditer(text)}


def policy_numbers(text: str) -> set[tuple[Decimal, str]]:
    """"30 days", "thirty-day", "14 个工作日", "10%" as (number, unit) pairs."""
    found = set()
    for match in _POLICY_RE.finditer(text):
        raw = match.group("n").lower()
        number = Decimal(_NUMBER_WORDS[raw]) if raw in _NUMBER_WORDS else _decimal(raw)
        unit = _UNITS.get(match.group("u").lower().rstrip("s") if match.group("u").isascii() else match.group("u"))
        unit = unit or _UNITS.get(match.group("u").lower())
        if number is not None and unit:
            found.add((number.quantize(Decimal("0.01")), unit))
    return found


def _title_key(title: str) -> str | None:
    """The part of a catalog title a writer would actually repeat: the name before any " - ", "," or "(".
    Short generic names ("Ball") are skipped: matching them would flag ordinary words."""
    main = re.split(r"\s[-–|]\s|,|\(", title, maxsplit=1)[0].strip().casefold()
    if len(main) < 12 or len(main.split()) < 2:
        return None
    return main


class GroundingCheck:
    """Lists what a text states that ``facts`` do not support (empty list: the text is grounded).

    Checked: money amounts, order statuses, policy numbers (days, hours, percentages), catalog product
    titles not among the facts' products, e-mail addresses, URLs and phone numbers, and banned words.
    """

    def __init__(self, facts: Facts, banned_words: Sequence[str] = ()) -> None:
        self.facts = facts
        self.banned_words = [w for w in banned_words if w.strip()]
        self._prices = facts.allowed_prices()
        self._statuses = facts.allowed_statuses()
        self._policy = facts.allowed_policy_numbers()
        self._products = facts.allowed_products()
        self._corpus = facts.corpus().casefold()
        self._foreign_titles = self._titles_not_in_facts()

    def _titles_not_in_facts(self) -> dict[str, str]:
        foreign = {}
        for title in self.facts.known_titles:
            key = _title_key(str(title))
            if key and title.casefold() not in self._products and key not in self._corpus:
                foreign[key] = str(title)
        return foreign

    def check(self, text: str) -> list[str]:
        violations: list[str] = []
        for amount in dict.fromkeys(money_amounts(text)):
            if amount not in self._prices:
                violations.append(f"price {amount} is not in the facts")
        for status in sorted(order_statuses(text) - self._statuses):
            violations.append(f"order status '{status}' is not in the facts")
        for number, unit in sorted(policy_numbers(text) - self._policy):
            violations.append(f"'{number.normalize():f} {unit}' is not in the facts")
        folded = text.casefold()
        for key, title in self._foreign_titles.items():
            if key in folded:
                violations.append(f"product '{title}' is not in the facts")
        for pattern, what in ((_EMAIL_RE, "e-mail address"), (_URL_RE, "link"), (_PHONE_RE, "phone number")):
            for match in pattern.finditer(text):
                if match.group(0).casefold() not in self._corpus:
                    kind = "date" if _DATE_RE.fullmatch(match.group(0)) else what
                    violations.append(f"{kind} '{match.group(0)}' is not in the facts")
        if _PLACEHOLDER_RE.search(text):
            violations.append("unfilled placeholder such as [price]")
        for word in self.banned_words:
            pattern = rf"\b{re.escape(word)}\b" if word.isascii() else re.escape(word)
            if re.search(pattern, text, re.IGNORECASE):
                violations.append(f"banned word '{word}'")
        return violations
