"""Entity extraction for shopping and service messages, English and Chinese.

Rules built from the store's own catalog (brands, categories) and from fixed vocabularies (colours,
sizes, account types), regular expressions for ids, money and price ranges, and spaCy's small English
pipeline for places and person names. Emails and phone numbers are found with the PII detector and
returned masked: their values never leave this module in clear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shopsense.core.language import has_cjk
from shopsense.nlp.entity_vocab import (
    ACCOUNT_TYPES,
    COLOURS_EN,
    COLOURS_ZH,
    COUNTRIES,
    CURRENCY_WORDS,
)

_NUM = r"\d+(?:[.,]\d{1,2})?"
_CUR_SYM = r"(?:£|\$|€|¥|￥|US\$|USD\s?|GBP\s?|EUR\s?|RMB\s?)"
_CUR_WORD = r"(?:dollars?|bucks|pounds?|quid|euros?|usd|gbp|eur|rmb|yuan|元|块钱|块)"
MONEY_RE = re.compile(rf"{_CUR_SYM}\s?{_NUM}|{_NUM}\s?{_CUR_WORD}(?![a-z])", re.IGNORECASE)
_AMOUNT = rf"(?:{_CUR_SYM}\s?{_NUM}|{_NUM}(?:\s?{_CUR_WORD})?)"
_RANGE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"\bbetween\s+({_AMOUNT})\s+and\s+({_AMOUNT})", re.I), "between"),
    (re.compile(rf"({_CUR_SYM}\s?{_NUM})\s?(?:-|–|to)\s?({_CUR_SYM}?\s?{_NUM})", re.I), "between"),
    (re.compile(rf"(?:\bfrom\s+)?({_NUM})\s?(?:-|–|to)\s?({_NUM})\s?{_CUR_WORD}(?![a-z])", re.I), "between"),
    (re.compile(rf"({_NUM})\s?(?:-|–|到|至)\s?({_NUM})\s?(?:元|块钱|块)", re.I), "between"),
    (re.compile(rf"\b(?:under|below|less than|cheaper than|up to|no more than|at most|max(?:imum)?|within|"
                rf"not more than|lower than)\s+({_AMOUNT})", re.I), "max"),
    (re.compile(rf"(?:不超过|不到|低于|少于|最多)\s?({_NUM})\s?(?:元|块钱|块)?", re.I), "max"),
    (re.compile(rf"({_NUM})\s?(?:元|块钱|块)?\s?(?:以下|以内|之内)", re.I), "max"),
    (re.compile(rf"\b(?:over|above|more than|at least|from|starting at|min(?:imum)?)\s+({_AMOUNT})", re.I), "min"),
    (re.compile(rf"({_NUM})\s?(?:元|块钱|块)?\s?以上", re.I), "min"),
)
ORDER_RE = re.compile(
    r"(?:\border|\bpurchase|订单)\s*(?:number|no\.?|id|code|号码|号)?\s*(?:is|:|#|是)?\s*"
    r"(#?[A-Z]{0,4}-?\d{4,}|#?\d{4,})", re.IGNORECASE)
ORDER_CODE_RE = re.compile(r"\b(ORD-\d{4,})\b", re.IGNORECASE)
INVOICE_RE = re.compile(
    r"(?:\binvoice|\bbill|\breceipt|发票|账单)\s*(?:number|no\.?|id|号码|号)?\s*(?::|#(?=#)|是)?\s*(#?\d{3,})",
    re.IGNORECASE)
SIZE_RE = re.compile(
    r"\b(?:size|sz)\s*((?:x{0,3}[sl])|m|\d{1,2}(?:\.5)?)\b|\b(XXS|XS|XXL|XXXL|XL)\b|"
    r"\b(extra[- ]large|extra[- ]small)\b|(\d{2,3}|X{0,3}[SLM])码", re.IGNORECASE)
_PRIORITY = {"email": 9, "phone": 9, "order_id": 10, "invoice_id": 10, "price_range": 7, "money": 6,
             "size": 5, "brand": 4, "category": 4, "colour": 4, "account_type": 4, "delivery_country": 3,
             "delivery_city": 2, "person_name": 2}


@dataclass(frozen=True)
class Entity:
    """One entity found in a message: its type, the surface text, the span and a normalised value."""

    type: str
    text: str
    start: int
    end: int
    value: Any = None


def parse_amount(text: str) -> float | None:
    """The number in a money expression ("£12.99", "20 quid", "1,200 dollars" -> 12.99, 20.0, 1200.0)."""
    match = re.search(r"\d[\d,]*(?:\.\d+)?", text)
    if not match:
        return None
    raw = match.group(0)
    # "12,50" is a decimal comma; "1,200" a thousands separator.
    raw = raw.replace(",", ".") if re.fullmatch(r"\d+,\d{1,2}", raw) else raw.replace(",", "")
    return float(raw)


def _currency(text: str) -> str | None:
    lowered = text.lower()
    for token, code in CURRENCY_WORDS.items():
        if token in lowered:
            return code
    return None


def entity_pipeline() -> Any:
    """spaCy's English pipeline as the extractor runs it (loaded once a process)."""
    from shopsense.nlp.lexicon import english_pipeline

    # NER only: en_core_web_sm's NER has a tok2vec of its own, so the shared one, the tagger and the parser
    # would only cost time (12 -> 5 ms a chat message, the same entities)
    return english_pipeline(("lemmatizer", "tok2vec", "tagger", "parser", "attribute_ruler"))


def _terms(values: Iterable[str]) -> dict[str, str]:
    """Lower-cased surface form -> canonical value.

    A name joining several things ("Kites & Wind Spinners") is also found by each part, and plural
    names by a naive singular, all answering the full canonical name.
    """
    out: dict[str, str] = {}
    for value in values:
        canonical = str(value).strip()
        parts = [canonical] + [p.strip() for p in re.split(r"\s*(?:&|,|/|\band\b)\s*", canonical)]
        for part in parts:
            term = part.lower()
            if len(term) < 3:
                continue
            out.setdefault(term, canonical)
            if term.endswith("s") and len(term) > 4:
                out.setdefault(term[:-1], canonical)
    return out


class EntityExtractor:
    """Finds order and invoice ids, money, price ranges, colours, sizes, brands, categories, places,
    person names and account types in a message; emails and phones are returned masked."""

    def __init__(self, brands: Iterable[str] = (), categories: Iterable[str] = (),
                 account_types: Iterable[str] = ACCOUNT_TYPES, use_spacy: bool = True) -> None:
        self.brands = _terms(brands)
        self.categories = _terms(categories)
        self.account_types = {t.lower(): t.lower() for t in account_types}
        self.use_spacy = use_spacy
        self._gazetteer = self._compile_gazetteer()

    @classmethod
    def from_store(cls, store: Any, **kwargs: Any) -> EntityExtractor:
        """An extractor whose brand and category vocabulary is the store's catalog."""
        items = store.items
        brands = [b for b in items["brand"].dropna().astype(str).unique() if b.strip()]
        segments = {seg.strip() for path in items["category"].dropna().astype(str)
                    for seg in path.split(">") if seg.strip()}
        return cls(brands=brands, categories=sorted(segments), **kwargs)

    def _compile_gazetteer(self) -> list[tuple[re.Pattern[str], str, dict[str, str]]]:
        tables = [("brand", self.brands), ("category", self.categories),
                  ("colour", {c: c for c in COLOURS_EN}), ("account_type", self.account_types)]
        compiled = []
        for kind, table in tables:
            if not table:
                continue
            alternatives = "|".join(re.escape(t) for t in sorted(table, key=len, reverse=True))
            compiled.append((re.compile(rf"(?<![\w-])({alternatives})(?![\w-])", re.IGNORECASE), kind, table))
        return compiled

    def extract(self, text: str) -> list[Entity]:
        """All entities in ``text``, non-overlapping, in order of position."""
        found: list[Entity] = []
        found += self._pii(text)
        found += self._ids(text)
        found += self._prices(text)
        found += self._sizes(text)
        found += self._vocabulary(text)
        if self.use_spacy and re.search(r"[A-Za-z]", text):
            found += self._spacy(text)
        return _resolve_overlaps(found)

    def _pii(self, text: str) -> list[Entity]:
        from shopsense.core.pii import find_pii

        out = []
        for span in find_pii(text):
            kind = span.kind.lower()
            if kind in ("email", "phone"):
                out.append(Entity(kind, f"[{kind.upper()}]", span.start, span.end, f"[{kind.upper()}]"))
        return out

    def _ids(self, text: str) -> list[Entity]:
        out = []
        for regex, kind in ((ORDER_RE, "order_id"), (ORDER_CODE_RE, "order_id"), (INVOICE_RE, "invoice_id")):
            for m in regex.finditer(text):
                value = m.group(1)
                out.append(Entity(kind, value, m.start(1), m.end(1), value.lstrip("#").upper()))
        return out

    def _prices(self, text: str) -> list[Entity]:
        out = []
        for regex, kind in _RANGE_PATTERNS:
            for m in regex.finditer(text):
                amounts = [parse_amount(g) for g in m.groups()]
                currency = _currency(m.group(0))
                if kind == "between":
                    low, high = sorted(a for a in amounts if a is not None)
                elif kind == "max":
                    low, high = None, amounts[0]
                else:
                    low, high = amounts[0], None
                out.append(Entity("price_range", m.group(0), m.start(), m.end(),
                                  {"min": low, "max": high, "currency": currency}))
        for m in MONEY_RE.finditer(text):
            out.append(Entity("money", m.group(0), m.start(), m.end(),
                              {"amount": parse_amount(m.group(0)), "currency": _currency(m.group(0))}))
        return out

    def _sizes(self, text: str) -> list[Entity]:
        out = []
        for m in SIZE_RE.finditer(text):
            value = next(g for g in m.groups() if g)
            out.append(Entity("size", m.group(0), m.start(), m.end(), value.upper().replace(" ", "-")))
        return out

    def _vocabulary(self, text: str) -> list[Entity]:
        out = []
        for regex, kind, table in self._gazetteer:
            for m in regex.finditer(text):
                out.append(Entity(kind, m.group(0), m.start(), m.end(), table[m.group(0).lower()]))
        for word, canonical in COLOURS_ZH.items():
            for m in re.finditer(re.escape(word), text):
                out.append(Entity("colour", word, m.start(), m.end(), canonical))
        if has_cjk(text):  # Chinese text: plain substring match on the catalog
            for kind, table in (("brand", self.brands), ("category", self.categories)):
                for term, canonical in table.items():
                    if has_cjk(term):
                        for m in re.finditer(re.escape(term), text):
                            out.append(Entity(kind, term, m.start(), m.end(), canonical))
        return out

    def _spacy(self, text: str) -> list[Entity]:
        out = []
        for ent in entity_pipeline()(text).ents:
            if ent.label_ == "GPE":
                kind = "delivery_country" if ent.text.lower() in COUNTRIES else "delivery_city"
                out.append(Entity(kind, ent.text, ent.start_char, ent.end_char, ent.text))
            elif ent.label_ == "PERSON" and re.search(r"\b(?:Mr|Mrs|Ms|Miss|Dr)\.?\s", ent.sent.text):
                start = text.rfind(" ", 0, max(ent.start_char - 1, 0))
                title = text[start + 1:ent.start_char]
                begin = start + 1 if re.fullmatch(r"(?:Mr|Mrs|Ms|Miss|Dr)\.?\s", title) else ent.start_char
                out.append(Entity("person_name", text[begin:ent.end_char], begin, ent.end_char,
                                  text[begin:ent.end_char]))
            elif ent.label_ == "PERSON" and len(ent.text.split()) >= 2:
                out.append(Entity("person_name", ent.text, ent.start_char, ent.end_char, ent.text))
        return out


def _resolve_overlaps(entities: list[Entity]) -> list[Entity]:
    """Keep the highest-priority, then longest, entity wherever spans overlap."""
    ranked = sorted(entities, key=lambda e: (-_PRIORITY.get(e.type, 0), -(e.end - e.start), e.start))
    kept: list[Entity] = []
    for entity in ranked:
        if all(entity.end <= k.start or entity.start >= k.end for k in kept):
            kept.append(entity)
    return sorted(kept, key=lambda e: e.start)
