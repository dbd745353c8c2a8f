"""Masking of personal data (PII) in English and Chinese text.

Personal data is masked before text is stored, logged, indexed or trained on. :func:`find_pii`
returns the spans, :func:`mask_pii` replaces each with a placeholder of its kind:

- ``[EMAIL]``: e-mail addresses (also a truncated ``name@host`` with no top-level domain).
- ``[PHONE]``: phone numbers: international ``+44 20 7946 0958``, North-American ``(555) 123-4567`` /
  ``555-123-4567``, UK ``07700 900123`` / ``020 7946 0958``, Chinese mobiles ``138 0013 8000`` (with
  optional ``+86``) and landlines ``010-51236699`` / ``02800923158``, and any 7-15 digit run that
  follows a phone word (``phone``, ``tel``, ``call``, ``电话``, ``手机``, ...). Bare 10-12 digit runs
  that do not start with ``0`` or ``1[3-9]`` (order numbers, most ids) are not phones.
- ``[CARD]``: payment-card numbers: 13-19 digits (optionally in groups separated by spaces or dashes)
  whose first digit is 2-6 (the issuers' ranges) and that pass the Luhn check. Numbers written in the
  card layout ``dddd dddd dddd dddd`` are masked even when the Luhn check fails (a mistyped card
  number is still a card number). Bare digit runs that fail Luhn are left alone, so order numbers,
  EAN/ISBN barcodes and ids are not masked.
- ``[ID]``: Chinese resident identity numbers (18 characters, valid date and ISO 7064 check digit) and
  messenger account numbers given as ``QQ: 12345678`` / ``微信: name``.
- ``[ADDRESS]``: street addresses (``221B Baker Street``, ``1600 Amphitheatre Parkway, Mountain View,
  CA 94043``, ``12 High St``), UK postcodes (``SW1A 1AA``), US state + ZIP (``CA 94043``) and Chinese
  addresses (``北京市朝阳区建国路88号``, ``...省...市...区...路...号...室``, ``3栋2单元501室``).

Guards against false positives: a number preceded (within a few words) by an order/invoice/ISBN/model
word is never a phone or a card; dates, times, prices, ratings, years, sizes and model numbers do not
fit the patterns above (see tests/core/test_pii.py for the examples kept in both languages).
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from shopsense.core.language import CJK_CHARS

KINDS: tuple[str, ...] = ("EMAIL", "PHONE", "CARD", "ID", "ADDRESS")
# When two spans overlap, the longer wins; on equal length, the earlier kind in this order.
_PRIORITY = {"EMAIL": 0, "ID": 1, "CARD": 2, "PHONE": 3, "ADDRESS": 4}


@dataclass(frozen=True)
class PiiSpan:
    """One piece of personal data found in a text: its kind, character offsets and the text itself."""

    kind: str
    start: int
    end: int
    text: str


_NDA = r"(?![\d])"  # no digit right after

_EMAIL_RE = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*"
                       r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A truncated address ("sarah.liuhui@q") still identifies a person; require a 3+ character local part.
_EMAIL_BARE_RE = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{2,}"
                            r"@[A-Za-z][A-Za-z0-9-]*(?![\w@.])")

_NO_NUM_BEFORE = r"(?<![\w\-./+])"
_NO_NUM_AFTER = r"(?![\d\-/]|\.\d)"
_PHONE_RES = [
    # International: +CC or 00 CC, then 2-5 groups, optional "(0)" trunk prefix.
    re.compile(r"(?<![\w+])(?:\+|00[ \t]?)[1-9]\d{0,2}[ \t.\-]?(?:\(0\)[ \t]?)?(?:\(\d{1,4}\)[ \t.\-]?)?"
               r"\d{1,5}(?:[ \t.\-]?\d{2,5}){1,4}" + _NO_NUM_AFTER),
    # North America: (555) 123-4567, 555-123-4567, 555.123.4567, 555 123 4567.
    re.compile(r"(?<![\w)])\(\d{3}\)[ \t]?\d{3}[ \t.\-]\d{4}" + _NO_NUM_AFTER),
    re.compile(_NO_NUM_BEFORE + r"\d{3}([.\- ])\d{3}\1\d{4}" + _NO_NUM_AFTER),
    # UK (01/02/03/07/08): 07700 900123, 01632 960001, 020 7946 0958, 0161 496 0000, 01632 960 001.
    re.compile(_NO_NUM_BEFORE + r"0[1-378]\d{2,3}[ \t]\d{6}" + _NO_NUM_AFTER),
    re.compile(_NO_NUM_BEFORE + r"0[1-378](?:\d[ \t]\d{4}[ \t]\d{4}|\d{2}[ \t]\d{3}[ \t]\d{4}"
               r"|\d{3}[ \t]\d{3}[ \t]\d{3})" + _NO_NUM_AFTER),
    # China mobile: 1[3-9]x xxxx xxxx with optional +86 / 0086 / 86 and separators. CJK may touch it.
    re.compile(r"(?<![\dA-Za-z\-./+])(?:(?:\+|00)?86[ \t\-]?)?1[3-9]\d[ \t\-]?\d{4}[ \t\-]?\d{4}"
               + _NO_NUM_AFTER),
    # China landline: 010-51236699, (021)12345678, 0755 12345678, with an optional extension.
    re.compile(r"(?<![\dA-Za-z\-./+])(?:\(0[1-9]\d{1,2}\)[ \t]?|0[1-9]\d{1,2}[\- \t]?)\d{7,8}"
               r"(?:[ \t]*(?:转|ext\.?|x)[ \t]*\d{1,5})?" + _NO_NUM_AFTER),
    # Bare 10-11 digit numbers starting with 0: "02800923158", "07700900123".
    re.compile(r"(?<![\dA-Za-z\-./+])0[1-9]\d{8,9}" + _NO_NUM_AFTER),
]
_PHONE_WORDS = (r"\b(?:phone|tel|telephone|mobile|cell|call|ring|text me|whatsapp|contact|fax)\b|"
                r"电话|手机|热线|联系|致电|拨打|来电")
_PHONE_WORD_RE = re.compile(rf"(?i:{_PHONE_WORDS})[^\d\n]{{0,12}}?(\+?\d[\d \t\-]{{5,18}}\d)" + _NDA)
_PHONE_WORD_ONLY_RE = re.compile(rf"(?i:{_PHONE_WORDS})")

_CARD_RES = [
    re.compile(r"(?<![\d\-.])[2-6]\d{3}(?:[ \-]?\d{3,4}){2,4}(?:[ \-]?\d{1,3})?(?![\d\-]|\.\d)"),
    re.compile(r"(?<![\d\-.])3[47]\d{2}[ \-]?\d{6}[ \-]?\d{5}(?![\d\-]|\.\d)"),  # Amex 4-6-5
]
_CARD_LAYOUT_RE = re.compile(r"(?<![\d\-.])\d{4}([ \-])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?(?![\d\-]|\.\d)")

_CN_ID_RE = re.compile(r"(?<![\dA-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
                       r"\d{3}[\dXx](?![\dA-Za-z])")
_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_ID_CHECK = "10X98765432"
# QQ numbers and WeChat ids identify a person as well as a phone number does.
_MESSENGER_RE = re.compile(
    r"(?<![A-Za-z])(?i:qq|wechat|weixin|微信|vx|wx)(?:号|号码|id|帐号|账号)?[ \t]*[:：]?[ \t]*"
    r"([1-9]\d{4,10}(?!\d)|(?=[A-Za-z][A-Za-z_\-]*[\d_])[A-Za-z][A-Za-z0-9_\-]{5,19}(?![A-Za-z0-9_\-]))")

# A number right after one of these words (and a few characters such as "number:", "#", "号：") is an
# order/product identifier, not personal data.
_ID_WORDS = (r"\b(?:orders?|ord|purchases?|invoices?|receipts?|tracking|shipments?|parcels?|ref|reference|"
             r"ticket|case|sku|asin|isbn|ean|upc|gtin|model|part|serial|item|product|account|acct|membership|booking|"
             r"confirmation)\b|订单|单号|编号|运单|快递|发票|型号|书号|货号|条码")
_ID_CONTEXT_RE = re.compile(rf"((?i:{_ID_WORDS}))[\w \t.:：#№\-]{{0,14}}$")

# --- English street addresses -------------------------------------------------------------------
# Only unambiguous street types: "Park", "Hill", "Court", "Square"... also end many product names
# ("4 Tennis Court", "City Square").
_STREET_TYPES = (
    "Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Parkway|Pkwy|Way|Close|Place|Pl|"
    "Terrace|Crescent|Gardens|Grove|Mews|Highway|Hwy")
_NAME_WORD = r"(?:[A-Z][a-zA-Z'’\-]+|\d{1,3}(?:st|nd|rd|th)|[A-Z]\.?)"
_CAP_WORD = r"[A-Z][a-zA-Z'’\-]+"
_EN_STREET_RE = re.compile(
    r"(?<![\w£$€.,:/\-#])(?:(?:Flat|Apt\.?|Apartment|Suite|Unit)[ \t]+\w{1,5},?[ \t]+)?"
    r"\d{1,4}[A-Za-z]?(?:-\d{1,4})?,?[ \t]+"
    rf"{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,3}}[ \t]+(?:{_STREET_TYPES})\b\.?"
    # ", Town Name" (one to three capitalised words) when a comma, line end, or a state + ZIP follows
    rf"(?:,?[ \t]+{_CAP_WORD}(?:[ \t]+{_CAP_WORD}){{0,2}}(?=[ \t]*(?:,|$|\n|[A-Z]{{2}}[ \t]\d{{5}})))?"
)
_UK_POSTCODE_RE = re.compile(
    r"(?<![\w-])(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?|GIR)[ \t]\d[ABD-HJLNP-UW-Z]{2}(?![\w-])")
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|"
    "OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC")
_US_ZIP_RE = re.compile(rf"(?<![\w-])(?:{_US_STATES}),?[ \t]+\d{{5}}(?:-\d{{4}})?(?![\w-])")
_ADDRESS_GAP_RE = re.compile(rf"[ \t]*,?[ \t]*(?:{_CAP_WORD}[ \t]*){{0,3}},?[ \t]*")

# --- Chinese addresses --------------------------------------------------------------------------
# No word boundaries in Chinese: an address may not start with (or contain) these verbs/particles,
# which keeps "拿去厦门市..." / "位于上海市..." from swallowing the words before the place name.
_CN_STOP = "的了在是我你他她们去到从住于跟拿给往至买寄送址为位有还就也都把被让说这那要想或很"
_CN_CH = rf"(?:(?![{_CN_STOP}])[{CJK_CHARS}])"
_CN_ROAD = r"(?:路|街|大道|大街|巷|弄|胡同|公路)"
_CN_NUM = r"(?:\d{1,5}|[一二三四五六七八九十百零]{1,4})"
_CN_UNIT = r"(?:[-之]?\d{1,5}(?:号楼|号院|栋|幢|座|单元|层|楼|室|号|户)|[A-Za-z]座)"
_CN_ADMIN = (rf"(?:{_CN_CH}{{1,7}}?(?:省|自治区|特别行政区))?(?:{_CN_CH}{{1,6}}?(?:市|州|盟))?"
             rf"(?:{_CN_CH}{{1,6}}?(?:区|县|旗))?(?:{_CN_CH}{{1,6}}?(?:镇|乡|街道))?")
_CN_ADDRESS_RE = re.compile(rf"{_CN_ADMIN}{_CN_CH}{{1,10}}?{_CN_ROAD}{_CN_NUM}(?:号院|号|弄){_CN_UNIT}*")
# Residential compound + building/unit/room without a road: "阳光花园3栋2单元501室", "5号楼1单元302室".
_CN_ROOM_RE = re.compile(
    rf"(?:{_CN_CH}{{1,8}}?(?:小区|花园|公寓|大厦|新村|家园|苑|园))?\d{{1,4}}(?:号楼|栋|幢)"
    r"(?:\d{1,3}单元)?(?:\d{3,5}(?:室|号|房)?|\d{1,2}(?:室|房))(?![\d楼])")
# Cheap searches telling which detectors can fire at all; most texts need none of them.
_DIGIT_RE = re.compile(r"\d")
_HINT_RES = (
    ("num", re.compile(r"\d(?:[ \t.\-()/]{0,3}\d){6}")),
    ("cn", re.compile(r"\d[号栋幢]|[一二三四五六七八九十百零]号")),
    ("post", re.compile(r"\d[A-Z]{2}\b")),
    ("zip", re.compile(r"[A-Z]{2},?[ \t]+\d{5}")),
    ("street", re.compile(r"\d\w{0,2},?[ \t]+[A-Z0-9]")),
)
_MESSENGER_HINTS = ("qq", "wechat", "weixin", "微信", "vx", "wx")


def _hints(text: str) -> set[str]:
    hits = set()
    if "@" in text:
        hits.add("at")
    lowered = text.lower()
    if any(h in lowered for h in _MESSENGER_HINTS):
        hits.add("msg")
    if _DIGIT_RE.search(text):
        hits.update(name for name, regex in _HINT_RES if regex.search(text))
    return hits


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn (mod 10) check used by payment cards."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def cn_id_valid(number: str) -> bool:
    """True when an 18-character Chinese resident ID number has a correct check character."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _CN_ID_WEIGHTS, strict=True))
    return _CN_ID_CHECK[total % 11] == number[17].upper()


def gtin_valid(digits: str) -> bool:
    """True when the digit string is a valid EAN-13/GTIN-14 barcode (weights 3,1 from the right)."""
    total = sum((3 if i % 2 else 1) * (ord(ch) - 48) for i, ch in enumerate(reversed(digits)))
    return total % 10 == 0


def _is_identifier(text: str, start: int) -> bool:
    """True when the number at ``start`` follows an order/product-id word (and no phone word after it)."""
    m = _ID_CONTEXT_RE.search(text, max(0, start - 40), start)
    return m is not None and not _PHONE_WORD_ONLY_RE.search(text, m.end(1), start)


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _find_all(text: str, hits: set[str]) -> list[PiiSpan]:
    spans: list[PiiSpan] = []

    def add(kind: str, start: int, end: int) -> None:
        spans.append(PiiSpan(kind, start, end, text[start:end]))

    if "at" in hits:
        for regex in (_EMAIL_RE, _EMAIL_BARE_RE):
            for m in regex.finditer(text):
                add("EMAIL", m.start(), m.end())
    if "msg" in hits:
        for m in _MESSENGER_RE.finditer(text):
            add("ID", m.start(1), m.end(1))
    if "num" in hits:
        for m in _CN_ID_RE.finditer(text):
            if cn_id_valid(m.group(0)):
                add("ID", m.start(), m.end())
        for m in _CARD_LAYOUT_RE.finditer(text):
            if not _is_identifier(text, m.start()):
                add("CARD", m.start(), m.end())
        for regex in _CARD_RES:
            for m in regex.finditer(text):
                digits = _digits(m.group(0))
                if (13 <= len(digits) <= 19 and luhn_valid(digits)
                        and not (len(digits) in (13, 14) and gtin_valid(digits))
                        and not _is_identifier(text, m.start())):
                    add("CARD", m.start(), m.end())
        for regex in _PHONE_RES:
            for m in regex.finditer(text):
                found = m.group(0)
                # International numbers carry a country code: "00" + 1-3 digits + >= 7 more.
                least = 11 if found.startswith("00") else 9 if found.startswith("+") else 7
                if least <= len(_digits(found)) <= 15 and not _is_identifier(text, m.start()):
                    add("PHONE", m.start(), m.end())
        for m in _PHONE_WORD_RE.finditer(text):
            if 7 <= len(_digits(m.group(1))) <= 15 and not _is_identifier(text, m.start(1)):
                add("PHONE", m.start(1), m.end(1))
    for group, regex in (("street", _EN_STREET_RE), ("post", _UK_POSTCODE_RE), ("zip", _US_ZIP_RE)):
        if group in hits:
            for m in regex.finditer(text):
                add("ADDRESS", m.start(), m.end())
    if "cn" in hits:
        for regex in (_CN_ADDRESS_RE, _CN_ROOM_RE):
            for m in regex.finditer(text):
                add("ADDRESS", m.start(), m.end())
    return spans


def _resolve(spans: list[PiiSpan], text: str) -> list[PiiSpan]:
    """Non-overlapping spans in text order; adjacent address parts merge into one address."""
    chosen: list[PiiSpan] = []  # kept sorted by start; chosen spans never overlap
    starts: list[int] = []
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), _PRIORITY[s.kind], s.start)):
        i = bisect.bisect_left(starts, span.start)
        if i > 0 and chosen[i - 1].end > span.start:
            continue
        if i < len(chosen) and chosen[i].start < span.end:
            continue
        chosen.insert(i, span)
        starts.insert(i, span.start)
    merged: list[PiiSpan] = []
    for span in chosen:
        if merged and merged[-1].kind == "ADDRESS" and span.kind == "ADDRESS":
            if _ADDRESS_GAP_RE.fullmatch(text, merged[-1].end, span.start):
                prev = merged.pop()
                span = PiiSpan("ADDRESS", prev.start, span.end, text[prev.start:span.end])
        merged.append(span)
    return merged


def find_pii(text: str) -> list[PiiSpan]:
    """All personal-data spans of ``text``, non-overlapping, in order of position."""
    if not text:
        return []
    hits = _hints(text)
    if not hits:
        return []
    return _resolve(_find_all(text, hits), text)


def redact(text: str) -> tuple[str, list[PiiSpan]]:
    """``(masked text, spans found)``: each span replaced by ``[KIND]``."""
    spans = find_pii(text)
    if not spans:
        return text, spans
    parts: list[str] = []
    pos = 0
    for span in spans:
        parts.append(text[pos:span.start])
        parts.append(f"[{span.kind}]")
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts), spans


def mask_pii(text: str) -> str:
    """``text`` with every personal-data span replaced by ``[EMAIL]``, ``[PHONE]``, ``[CARD]``, ``[ID]`` or
    ``[ADDRESS]``. Non-strings (None, NaN) come back unchanged."""
    if not isinstance(text, str):
        return text
    return redact(text)[0]


def mask_many(texts: Iterable[str]) -> tuple[list[str], Counter[str]]:
    """Mask many texts; returns the masked texts and how many spans of each kind were masked."""
    counts: Counter[str] = Counter()
    out: list[str] = []
    for text in texts:
        if not isinstance(text, str):
            out.append(text)
            continue
        masked, spans = redact(text)
        counts.update(s.kind for s in spans)
        out.append(masked)
    return out, counts
