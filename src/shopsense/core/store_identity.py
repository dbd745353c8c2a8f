"""The store's own identity: its name, logo, currency and locale, shown by the storefront and the chat widget.

A store directory may hold ``store.json``, every field optional::

    {"name": "ToyNest", "currency": "GBP", "locale": "en_GB", "logo": "https://...",
     "home_hidden": ["Fancy Dress > Costumes > Adults"], "insights_stop_terms": ["starter kit", "bundle"]}

``shopsense import`` checks it and keeps it in the store's database, so every server process sharing that
database shows the same store. ``SHOPSENSE_STORE_NAME``, ``_CURRENCY``, ``_LOCALE`` and ``_LOGO`` override it
field by field. Prices are formatted for the locale by Babel (CLDR data): ``£9.99`` in ``en_GB``, ``9,99 €``
in ``de_DE``, ``¥9.99`` in ``zh_CN``. ``home_hidden`` keeps categories off the home page's lists.
``insights_stop_terms``: words that are never review-insight aspects in this store (on top of generic nouns
and the catalog's brands).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopsense.core.validation import Problem

FILE = "store.json"
FIELDS = ("name", "logo", "currency", "locale", "home_hidden", "insights_stop_terms")
LIST_FIELDS = ("home_hidden", "insights_stop_terms")
MAX_LENGTH = {"name": 80, "logo": 2048, "currency": 16, "locale": 32}
MAX_HIDDEN = 200
MAX_STOP_TERMS, MAX_STOP_TERM_LENGTH = 500, 60
_ADULT_SEGMENT = re.compile(r"^adults?(?:\s+only)?$|^18\s*\+$", re.IGNORECASE)


@dataclass(frozen=True)
class StoreIdentity:
    """What a shopper sees of the store: its name, its logo, and how its prices read."""

    name: str = "Our shop"
    currency: str = "USD"  # for items that name no currency of their own
    locale: str = "en_US"
    logo: str | None = None
    # Category paths (or their first levels) kept off the home page's lists; None: every category with an
    # "Adults" level ("Fancy Dress > Costumes > Adults"), so a family store's front page stays a family page.
    home_hidden: tuple[str, ...] | None = None
    # Words that are never an aspect in the review insights (marketing.opinion_text.StopList adds them).
    insights_stop_terms: tuple[str, ...] = ()

    def hides_on_home(self, category: str) -> bool:
        """Whether items of ``category`` stay off the home page's popular and trending lists (search finds them)."""
        levels = [c.strip() for c in str(category or "").split(">") if c.strip()]
        if self.home_hidden is None:
            return any(_ADULT_SEGMENT.match(level) for level in levels)
        path = " > ".join(levels).casefold()
        return any(path == h.casefold() or path.startswith(h.casefold() + " > ") for h in self.home_hidden)

    def price(self, amount: float | None, currency: str | None = None) -> str:
        """``amount`` in ``currency`` (default: the store's), written the locale's way; "" for no price."""
        from babel.numbers import format_currency

        if amount is None:
            return ""
        return format_currency(amount, (currency or self.currency).upper(), locale=self.locale)


def displayable_url(value: object) -> str:
    """``value`` when a page may show it as an image (an https:// URL or a path on this server), else ""."""
    url = str(value or "").strip()
    return url if url.startswith("https://") or (url.startswith("/") and not url.startswith("//")) else ""


def check_fields(values: Any, file: str = FILE) -> tuple[dict[str, Any], list[Problem]]:
    """The valid fields of a parsed ``store.json`` object and a problem (naming the field) for each bad one."""
    from babel import Locale, UnknownLocaleError
    from babel.numbers import UnknownCurrencyError, validate_currency

    if not isinstance(values, dict):
        return {}, [Problem(file, None, None, f"expected a JSON object with {', '.join(FIELDS)}, "
                                              f"got {type(values).__name__}", table="store", reason="not an object")]
    kept: dict[str, Any] = {}
    problems: list[Problem] = []

    def bad(field: str, message: str, severity: str = "error") -> None:
        problems.append(Problem(file, None, field, message, severity=severity, table="store", reason="bad field"))

    for field, value in values.items():
        if field not in FIELDS:
            bad(field, f"unknown field, not read (fields: {', '.join(FIELDS)})", "warning")
        elif value is None:
            continue
        elif field == "home_hidden":
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                bad(field, 'must be a list of category paths, e.g. ["Fancy Dress > Costumes > Adults"]')
            elif len(value) > MAX_HIDDEN:
                bad(field, f"lists {len(value)} categories; at most {MAX_HIDDEN}")
            else:
                kept[field] = [" > ".join(c.strip() for c in v.split(">") if c.strip()) for v in value]
        elif field == "insights_stop_terms":
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                bad(field, f'must be a list of words or phrases, e.g. ["box", "starter kit"], '
                           f"got {json.dumps(value)[:40]}")
            elif len(value) > MAX_STOP_TERMS:
                bad(field, f"lists {len(value)} terms; at most {MAX_STOP_TERMS}")
            elif too_long := [v for v in value if len(v.strip()) > MAX_STOP_TERM_LENGTH]:
                bad(field, f"{too_long[0][:40]!r}... is longer than {MAX_STOP_TERM_LENGTH} characters")
            else:
                kept[field] = list(dict.fromkeys(" ".join(v.lower().split()) for v in value))
        elif not isinstance(value, str) or not value.strip():
            bad(field, f"must be a non-empty string, got {json.dumps(value)[:40]}")
        elif len(value.strip()) > MAX_LENGTH[field]:
            bad(field, f"is {len(value.strip())} characters long; at most {MAX_LENGTH[field]}")
        else:
            kept[field] = value.strip()
    if "logo" in kept and not displayable_url(kept["logo"]):
        bad("logo", f"{kept.pop('logo')[:60]!r} must be an https:// URL or a path on this server (/static/...)")
    if "currency" in kept:
        try:
            validate_currency(kept["currency"].upper())
            kept["currency"] = kept["currency"].upper()
        except UnknownCurrencyError:
            bad("currency", f"{kept.pop('currency')!r} is not an ISO 4217 currency code (e.g. GBP, EUR, CNY)")
    if "locale" in kept:
        try:
            kept["locale"] = str(Locale.parse(kept["locale"].replace("-", "_")))
        except (UnknownLocaleError, ValueError):
            bad("locale", f"{kept.pop('locale')!r} is not a known locale (e.g. en_GB, de_DE, zh_CN)")
    return kept, problems


def read_file(path: Path) -> tuple[dict[str, Any], list[Problem]]:
    """Parse and check a store directory's ``store.json``; problems carry line and column of a syntax error."""
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        return {}, [Problem(path.name, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                            table="store", reason="encoding")]
    except json.JSONDecodeError as exc:
        return {}, [Problem(path.name, exc.lineno, f"column {exc.colno}", f"not valid JSON: {exc.msg}",
                            table="store", reason="bad JSON")]
    return check_fields(values, path.name)


def identity_of(stored: dict[str, Any] | None, settings: Any) -> StoreIdentity:
    """The identity from the imported ``store.json`` (``stored``), each field overridden by its setting."""
    values = dict(stored or {})
    overrides = {f: getattr(settings, f"store_{f}", None) for f in FIELDS if f not in LIST_FIELDS}
    checked, _problems = check_fields({f: v for f, v in overrides.items() if v}, "SHOPSENSE_STORE_*")
    values.update(checked)
    for f in LIST_FIELDS:
        if f in values:
            values[f] = tuple(values[f])
    return StoreIdentity(**values)
