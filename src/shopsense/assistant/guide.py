"""Finding products that satisfy the shopper's constraints (:mod:`shopsense.assistant.constraints`).

Candidates come from search (the product words and the types and themes asked for), from the catalog items
whose title or category names the type or theme, and, when nothing names a product ("a gift for a 5 year
old"), from the whole catalog in order of popularity; the shopper's profile reorders them. Each is then checked
against the catalog's own attributes (price, ``min_age_months``/``max_age_months``, category path, title).
When none satisfies every constraint, one is relaxed and the reply says which: first the budget (the
cheapest of the rest are shown), then the product type; never the child's age or the child-safety rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from shopsense.assistant.constraints import ItemTraits, item_traits, search_words, unmet

if TYPE_CHECKING:
    from shopsense.assistant.state import DialogueState, Slots

SEARCH_DEPTH = 200
RANK_DEPTH = 40  # items meeting every constraint that the shopper's profile reorders


@dataclass
class Picked:
    """The items to show, and the constraint given up to find them (None: all were met)."""

    item_ids: list[str] = field(default_factory=list)
    relaxed: str | None = None


def constrained(slots: Slots) -> bool:
    """Whether the slots hold constraints the guide checks (a child, an age, a product type or theme)."""
    return bool(slots.child is not None or slots.age_months is not None or slots.types or slots.themes)


T = TypeVar("T")


def _per_catalog(assistant: Any, name: str, build: Callable[[Any], T]) -> T:
    """``build(catalog)``, computed once per catalog the assistant serves and kept on the assistant."""
    catalog = assistant.shop.catalog
    cached = getattr(assistant, name, None)
    if cached is None or cached[0] is not catalog:
        cached = (catalog, build(catalog))
        setattr(assistant, name, cached)
    return cached[1]


def _popular(assistant: Any) -> list[str]:
    """The catalog by popularity: best-seller rank, then number of reviews (computed once per catalog)."""
    def by_popularity(catalog: Any) -> list[str]:
        def key(item_id: str) -> tuple[float, int, str]:
            row = catalog.items[item_id]
            rank = (row.get("attributes") or {}).get("best_sellers_rank")
            try:
                rank_value = float(rank)
            except (TypeError, ValueError):
                rank_value = float("inf")
            return (rank_value, -len(catalog.reviews.get(item_id, ())), item_id)
        return sorted(catalog.items, key=key)

    return _per_catalog(assistant, "_popular_cache", by_popularity)


def _traits(assistant: Any) -> dict[str, ItemTraits]:
    """Every catalog item's :class:`ItemTraits` (read once per catalog: a turn checks hundreds of items)."""
    return _per_catalog(assistant, "_traits_cache", lambda catalog: {
        item_id: item_traits(row) for item_id, row in catalog.items.items()})


def candidates(assistant: Any, slots: Slots, exclude: set[str]) -> list[str]:
    """Items worth checking, best first: search hits, then catalog items of the type or theme, then the rest
    of the catalog by popularity when nothing narrows the product."""
    from shopsense.search import SearchFilters

    text = " ".join(p for p in (slots.query, search_words(slots)) if p).strip()
    ordered: list[str] = []
    search = assistant.shop.search
    if text and search is not None:
        hits = search.engine.search(text, SEARCH_DEPTH, SearchFilters(exclude_item_ids=frozenset(exclude)))
        ordered = [h.item_id for h in hits]
    seen = set(ordered)
    rest = [i for i in _popular(assistant) if i not in seen and i not in exclude]
    if slots.types or slots.themes or not text:
        ordered += rest  # the catalog check below keeps only the items of the type or theme
    return ordered


def pick(assistant: Any, state: DialogueState, exclude: set[str], show: int,
         order: Any = None) -> Picked:
    """Up to ``show`` items meeting every constraint in ``state.slots``; else with one constraint relaxed."""
    slots = state.slots
    catalog = assistant.shop.catalog.items
    traits = _traits(assistant)
    ids = [i for i in candidates(assistant, slots, exclude) if i in traits and i not in exclude]
    failures: dict[str, list[str]] = {}
    strict: list[str] = []
    for item_id in ids:  # the best candidates first: enough of them to rank is enough
        failures[item_id] = unmet(traits[item_id], slots)
        if not failures[item_id]:
            strict.append(item_id)
            if len(strict) >= RANK_DEPTH:
                break
    if strict:
        ranked = order(strict) if order is not None and len(strict) > 1 else strict
        return Picked(ranked[:show], None)
    failures = {i: failures.get(i) or unmet(traits[i], slots) for i in ids}
    if slots.cheaper:  # "something cheaper" than the cheapest shown: nothing is nothing
        return Picked()
    if slots.min_price is not None or slots.max_price is not None:
        rest = [i for i in ids if failures[i] == ["budget"] and catalog[i].get("price") is not None]
        if rest:
            below = slots.max_price is not None
            rest.sort(key=lambda i: (catalog[i]["price"] if below else -catalog[i]["price"], i))
            return Picked(rest[:show], "budget")
    if slots.types or slots.themes:
        rest = [i for i in _popular(assistant) if i not in exclude
                and set(unmet(traits[i], slots)) <= {"type", "theme"}]
        if rest:
            return Picked(rest[:show], "type")
    return Picked()


# ------------------------------------------------------------------ the reply
def narrowing_question(slots: Slots, language: str) -> str:
    """One question about what is still open: who it is for, the budget, or what they love."""
    from shopsense.assistant.replies import say

    if not slots.child and slots.child is not False:
        return say("narrow_question", language)
    if slots.max_price is None:
        return say("narrow_budget", language)
    return say("narrow_theme", language)


def guided(assistant: Any, state: DialogueState, read: Any, exclude: set[str], show: int, order: Any = None,
           rejected: bool = False) -> Any:
    """The draft for a constrained request: the items that meet the constraints, or the relaxed ones with the
    constraint named, or an honest nothing."""
    from shopsense.assistant.cards import item_card, known_titles, line, product_facts
    from shopsense.assistant.constraints import describe
    from shopsense.assistant.replies import Draft, money, say
    from shopsense.text.generator import Facts

    lang = read.language
    slots = state.slots
    picked = pick(assistant, state, exclude, show, order)
    what = describe(slots, lang)
    facts = Facts(known_titles=known_titles(assistant))
    action = "not_interested" if rejected else "recommend"
    if picked.relaxed == "budget" and slots.max_price is not None:
        cheapest = assistant.shop.catalog.items[picked.item_ids[0]]["price"]
        if cheapest > 2 * slots.max_price:  # far beyond the budget: say so rather than show it
            picked = Picked()
    if not picked.item_ids:
        if rejected:
            state.last_items = []
            return Draft("not_interested", say("not_interested_empty", lang,
                                               question=narrowing_question(slots, lang)), facts)
        key = ("nothing_cheaper" if slots.cheaper else "nothing_more" if exclude - set(state.rejected)
               else "nothing_found")
        what = describe(slots, lang, without=("budget",)) if slots.cheaper else what
        return Draft("nothing_found", say(key, lang, what=what, constraint=""), facts, failed=key == "nothing_found")
    cards = [item_card(assistant, i) for i in picked.item_ids]
    state.show(picked.item_ids)
    lines = "\n".join(line(n, c, lang) for n, c in enumerate(cards, 1))
    question = narrowing_question(slots, lang)
    if picked.relaxed == "budget":
        limit = (f"under {money(slots.max_price)}" if slots.max_price is not None else f"over {money(slots.min_price)}")
        if slots.cheaper:
            limit = "cheaper" if lang != "zh" else "更便宜"
        elif lang == "zh":
            limit = f"{money(slots.max_price)}以内" if slots.max_price is not None else f"{money(slots.min_price)}以上"
        text = say("relaxed_budget", lang, limit=limit, what=describe(slots, lang, without=("budget",)), lines=lines)
        facts.add("other", "relaxed", f"nothing {limit} meets the other constraints")
        action = "relaxed" if not rejected else action
    elif picked.relaxed == "type":
        text = say("relaxed_type", lang, what=what, other=describe(slots, lang, without=("type", "theme")),
                   lines=lines)
        facts.add("other", "relaxed", f"the catalog has no {what}")
        action = "relaxed" if not rejected else action
    elif rejected:
        text = say("not_interested", lang, question=question, lines=lines)
    else:
        text = say("guide_results", lang, what=what, lines=lines, question=question)
    return Draft(action, text, product_facts(facts, cards), cards,
                 [{"type": "catalog", "id": c["item_id"]} for c in cards])
