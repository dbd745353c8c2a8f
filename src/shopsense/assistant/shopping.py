"""The assistant's shopping actions: find and recommend products, answer questions about one of them,
and take "not interested" for an answer. Everything shown is a real catalog item with its real price."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from shopsense.assistant.cards import item_card, known_titles, line, product_facts
from shopsense.assistant.replies import Draft, money, say
from shopsense.assistant.request import MORE_WORDS, product_query, residual_query, update_slots
from shopsense.core.language import has_cjk
from shopsense.text.generator import Facts

if TYPE_CHECKING:
    from shopsense.assistant.nlu import Understanding
    from shopsense.assistant.state import DialogueState

SHOW = 3
CANDIDATES = 20
# Below this cosine (MiniLM) between the request and the best item, with no item naming the requested
# thing, the shop does not carry it (toy shop: "trousers" ~0.25, "wooden train" ~0.6).
CARRIED_SIMILARITY = 0.42
def english_terms(query: str) -> str:
    """A Chinese request with its English glossary terms (the catalog is in English)."""
    from shopsense.search.glossary import expand_chinese_query

    return expand_chinese_query(query) if has_cjk(query) else query


def _search(assistant: Any, query: str, state: DialogueState, exclude: set[str],
            priced: bool = True, honest: bool = True) -> list[Any]:
    from shopsense.search import SearchFilters

    search = assistant.shop.search
    if search is None or not query:
        return []
    filters = SearchFilters(min_price=state.slots.min_price if priced else None,
                            max_price=state.slots.max_price if priced else None,
                            exclude_item_ids=frozenset(exclude))
    return search.engine.search(query, CANDIDATES, filters, honest=honest)


def _carried(assistant: Any, query: str, hits: list[Any]) -> bool:
    """Whether the shop sells the thing asked for: an item names it, or one is close in meaning."""
    if not hits:
        return False
    from shopsense.search.engine import search_tokens

    engine = assistant.shop.search.engine

    query = english_terms(query)
    wanted = [t for t in search_tokens(query) if len(t) > 2 and t.isascii()]
    catalog = assistant.shop.catalog
    for hit in hits[:5]:
        row = catalog.items.get(hit.item_id, {})
        words = set(search_tokens(f"{row.get('title', '')} {row.get('category', '')}"))
        if wanted and all(t in words for t in wanted):  # one item names every word ("sewing machine" is
            return True                                # no "washing machine")
    english = " ".join(t for t in query.split() if t.isascii())
    if not english:
        return False  # a Chinese word the glossary cannot translate names nothing in an English catalog
    similarity = engine.similarity(english, [h.item_id for h in hits[:5]])
    return bool(len(similarity) and float(similarity.max()) >= CARRIED_SIMILARITY)


def _budget(state: DialogueState, lang: str) -> str:
    low, high = state.slots.min_price, state.slots.max_price
    over, under = ("、{}以上", "、{}以内") if lang == "zh" else (" over {}", " under {}")
    return ((over.format(money(low)) if low is not None else "")
            + (under.format(money(high)) if high is not None else ""))


def _relevant(assistant: Any, query: str, hits: list[Any]) -> list[Any]:
    """The hits that are about the request: they contain one of its words, or are close in meaning."""
    from shopsense.search.engine import search_tokens

    if not hits:
        return hits
    counts = _title_counts(assistant)
    limit = max(2, RARE_TITLE_SHARE * len(assistant.shop.catalog.items))
    wanted = {t for t in search_tokens(english_terms(query)) if len(t) > 2 and t.isascii() and counts[t] <= limit}
    catalog = assistant.shop.catalog
    english = " ".join(t for t in english_terms(query).split() if t.isascii())
    similarity = (assistant.shop.search.engine.similarity(english, [h.item_id for h in hits])
                  if english else [])
    kept = []
    for n, hit in enumerate(hits):
        row = catalog.items.get(hit.item_id, {})
        words = set(search_tokens(f"{row.get('title', '')} {row.get('category', '')}"))
        if wanted & words or (len(similarity) and float(similarity[n]) >= CARRIED_SIMILARITY):
            kept.append(hit)
    return kept


def _personal_order(assistant: Any, state: DialogueState, item_ids: list[str]) -> tuple[list[str], bool]:
    """Search order blended with the user's profile (reciprocal ranks), when the recommender knows them."""
    served, _ = assistant.shop.model_for(state.user_id)
    model = served.model
    if not state.user_id or state.user_id not in model.dataset_.user_index or len(item_ids) < 2:
        return item_ids, False
    known = [i for i in item_ids if i in model.dataset_.item_index]
    if len(known) < 2:
        return item_ids, False
    scores = dict(zip(known, np.asarray(model.score(state.user_id, known), dtype=float), strict=True))
    by_profile = {i: r for r, i in enumerate(sorted(known, key=lambda i: -scores[i]), 1)}
    fused = {i: 1 / (60 + r) + (0.5 / (60 + by_profile[i]) if i in by_profile else 0.0)
             for r, i in enumerate(item_ids, 1)}
    return sorted(item_ids, key=lambda i: -fused[i]), True


def _recommended(assistant: Any, state: DialogueState, exclude: set[str]) -> tuple[list[dict], bool]:
    from shopsense.recommend.filters import Filters

    served, _ = assistant.shop.model_for(state.user_id)
    filters = Filters.of(min_price=state.slots.min_price, max_price=state.slots.max_price, exclude=exclude)
    recs, source = served.recommend(state.user_id, SHOW, filters=filters, recent_item_ids=state.shown[-5:] or None)
    return [item_card(assistant, r.item_id, r.explanation) for r in recs], source == "personal"


def _order_for(assistant: Any, state: DialogueState) -> Any:
    return lambda ids: _personal_order(assistant, state, ids)[0]


def find_products(assistant: Any, state: DialogueState, read: Understanding) -> Draft:
    from shopsense.assistant import guide
    from shopsense.assistant.constraints import extract

    lang = read.language
    found = extract(read.text)
    more = bool(MORE_WORDS.search(read.text)) and bool(state.last_items)
    query = "" if more else residual_query(read, found)
    update_slots(assistant, state, read, query, found)
    exclude = set(state.rejected) | (set(state.shown) if (read.cheaper or more) else set())
    if guide.constrained(state.slots) and not (state.slots.query and not state.slots.types
                                              and not state.slots.themes and not _sold(assistant, state)):
        return guide.guided(assistant, state, read, exclude, SHOW, _order_for(assistant, state))
    search_text = " ".join(p for p in (state.slots.colour, state.slots.query) if p)
    hits = _search(assistant, search_text, state, exclude)
    what = _echo(state.slots.query, lang)
    facts = Facts(known_titles=known_titles(assistant))
    # Whether the shop sells the thing at all is a question about the catalog, not about this budget.
    priced = state.slots.min_price is not None or state.slots.max_price is not None
    probe = _search(assistant, state.slots.query or "", state, exclude, priced=False) if priced else hits
    if priced and state.slots.query:  # a budget lets weak matches through: keep the ones about the request
        hits = _relevant(assistant, state.slots.query, hits)
    if state.slots.query and not _carried(assistant, state.slots.query, probe):
        english = " ".join(t for t in english_terms(state.slots.query).split() if t.isascii())
        if english and english != state.slots.query:  # "裤子": the closest things to "trousers" in the catalog
            hits = _search(assistant, english, state, exclude)
        if not hits:
            hits = _search(assistant, english or state.slots.query, state, exclude, priced=False, honest=False)
        shown = _safe(assistant, state, [h.item_id for h in hits])[:SHOW]
        cards = [item_card(assistant, i) for i in shown]
        if not cards:
            cards, _ = _recommended(assistant, state, exclude)
        state.show([c["item_id"] for c in cards])
        lines = "\n".join(line(n, c, lang) for n, c in enumerate(cards, 1))
        facts.add("other", "catalog", f"the catalog has no {state.slots.query}")
        state.slots.query = None
        return Draft("not_carried", say("not_carried", lang, what=what, lines=lines),
                     product_facts(facts, cards), cards, [{"type": "catalog", "id": c["item_id"]} for c in cards])
    personal = False
    if hits:
        ordered, personal = _personal_order(assistant, state, [h.item_id for h in hits])
        cards = [item_card(assistant, i, "Matches your past purchases and your request." if personal else None)
                 for i in ordered[:SHOW]]
    elif state.slots.query:
        key = "nothing_more" if more else "nothing_found"
        return Draft("nothing_found", say(key, lang, what=what, constraint=_budget(state, lang)), failed=not more)
    else:
        cards, personal = _recommended(assistant, state, exclude)
    if not cards:
        return Draft("nothing_found", say("nothing_found", lang, what=what, constraint=""), failed=True)
    state.show([c["item_id"] for c in cards])
    lines = "\n".join(line(n, c, lang) for n, c in enumerate(cards, 1))
    question = ("想了解哪一件？也可以告诉我预算或颜色。" if lang == "zh"
                else "Would you like details on one of them, or something cheaper or in another colour?")
    key = "results_personal" if personal else "results"
    return Draft("recommend", say(key, lang, what=_echo(state.slots.query, lang, quoted=True), lines=lines,
                                  question=question),
                 product_facts(facts, cards), cards, [{"type": "catalog", "id": c["item_id"]} for c in cards])


def _sold(assistant: Any, state: DialogueState) -> bool:
    """Whether the free product words of the slots name something the catalog has."""
    probe = _search(assistant, state.slots.query or "", state, set(state.rejected), priced=False)
    return _carried(assistant, state.slots.query or "", probe)


def _safe(assistant: Any, state: DialogueState, item_ids: list[str]) -> list[str]:
    """The items that may be shown to this shopper: for a child, only what the catalog says suits them."""
    from shopsense.search.query_terms import fit_for_child

    if not state.slots.child:
        return item_ids
    items = assistant.shop.catalog.items
    return [i for i in item_ids if i in items and fit_for_child(items[i], state.slots.age_months)]


def not_interested(assistant: Any, state: DialogueState, read: Understanding) -> Draft:
    from shopsense.assistant import guide

    lang = read.language
    state.rejected.extend(i for i in state.last_items if i not in state.rejected)
    exclude = set(state.rejected) | set(state.shown)
    if guide.constrained(state.slots):
        return guide.guided(assistant, state, read, exclude, SHOW, _order_for(assistant, state), rejected=True)
    query = state.slots.query
    cards: list[dict] = []
    if query:
        hits = _search(assistant, f"{state.slots.colour or ''} {query}".strip(), state, exclude)
        cards = [item_card(assistant, h.item_id) for h in _relevant(assistant, query, hits)[:SHOW]]
    if not cards:
        cards, _ = _recommended(assistant, state, exclude)
    cards = [c for c in cards if c["item_id"] not in exclude][:SHOW]
    question = say("narrow_question", lang)
    facts = product_facts(Facts(known_titles=known_titles(assistant)), cards)
    if not cards:
        state.last_items = []
        return Draft("not_interested", say("not_interested_empty", lang, question=question), facts)
    state.show([c["item_id"] for c in cards])
    lines = "\n".join(line(n, c, lang) for n, c in enumerate(cards, 1))
    return Draft("not_interested", say("not_interested", lang, question=question, lines=lines), facts, cards,
                 [{"type": "catalog", "id": c["item_id"]} for c in cards])


def product_question(assistant: Any, state: DialogueState, read: Understanding) -> Draft:

    lang = read.language
    item_id = None
    if read.ordinal is not None and state.last_items:
        index = read.ordinal if read.ordinal >= 0 else len(state.last_items) - 1
        if index >= len(state.last_items):  # "the second one" of a one-item list: ask, never guess
            return Draft("which_item", say("ordinal_missing", lang, count=len(state.last_items)))
        item_id = state.last_items[index]
    if item_id is None:
        hits = _search(assistant, product_query(read), state, set(state.rejected))
        named = [h for h in hits[:3] if h.lexical_rank is not None and _names(assistant, read.text, h.item_id)]
        if named and _carried(assistant, product_query(read), named):
            item_id = named[0].item_id
        else:
            item_id = state.focus_item
    if item_id is None:
        return Draft("which_item", say("which_item", lang), failed=True)
    state.focus_item = item_id
    card = item_card(assistant, item_id)
    row = assistant.shop.catalog.items.get(item_id, {})
    summary = assistant.shop.catalog.review_summary(item_id)
    facts = product_facts(Facts(known_titles=known_titles(assistant)), [card])
    if summary["count"]:
        rating = say("item_rating", lang, average=summary["average"], count=summary["count"],
                     positive=round(100 * summary["positive_share"]))
        facts.add("review", item_id, rating.strip())
    else:
        rating = say("item_no_reviews", lang)
    age = _age(row)
    age_text = say("item_age", lang, age=age) if age else ""
    if age:
        facts.add("attribute", item_id, f"recommended age {age}")
    highlight = ""
    if summary["excerpts"]:
        quote = _first_sentence(summary["excerpts"][0]["text"])
        if quote:
            highlight = say("item_highlight", lang, quote=quote)
            facts.add("review", item_id, quote)
    text = say("item", lang, title=card["title"], price=money(card["price"], card.get("currency")), rating=rating,
               age=age_text, highlight=highlight)
    sources = [{"type": "catalog", "id": item_id}] + ([{"type": "reviews", "id": item_id}] if summary["count"] else [])
    return Draft("product_answer", text, facts, [card], sources)


ECHO_WORDS, ECHO_CHARS = 5, 40


def _echo(query: str | None, lang: str, quoted: bool = False) -> str:
    """The shopper's product words to repeat back: short ones only, so a reply never parrots a paragraph
    (or an injected instruction) in the shop's voice."""
    if not query or len(query) > ECHO_CHARS or len(query.split()) > ECHO_WORDS:
        if quoted:
            return "您" if lang == "zh" else "you"
        return "这个" if lang == "zh" else "that"
    if quoted:
        return f"“{query}”" if lang == "zh" else f'"{query}"'
    return query


RARE_TITLE_SHARE = 0.05  # a word in more titles than this ("toy", "set") names no particular product


def _title_counts(assistant: Any) -> Counter[str]:
    """How many catalog titles contain each search token (computed once per served catalog)."""
    from shopsense.search.engine import search_tokens

    catalog = assistant.shop.catalog
    cached = getattr(assistant, "_title_df", None)
    if cached is None or cached[0] is not catalog:
        counts: Counter[str] = Counter()
        for row in catalog.items.values():
            counts.update(set(search_tokens(str(row.get("title", "")))))
        cached = (catalog, counts)
        assistant._title_df = cached
    return cached[1]


def _names(assistant: Any, text: str, item_id: str) -> bool:
    """Whether the message names this item: they share a word few catalog titles contain."""
    from shopsense.search.engine import search_tokens

    catalog = assistant.shop.catalog
    counts = _title_counts(assistant)
    limit = max(2, RARE_TITLE_SHARE * len(catalog.items))
    title = set(search_tokens(str(catalog.items.get(item_id, {}).get("title", ""))))
    return any(t in title and counts[t] <= limit for t in search_tokens(english_terms(text)))


def _age(row: dict[str, Any]) -> str | None:
    attributes = row.get("attributes")
    if isinstance(attributes, dict) and attributes.get("recommended_age"):
        return str(attributes["recommended_age"])
    return None


def _first_sentence(text: str, limit: int = 160) -> str:
    sentence = re.split(r"(?<=[.!?。！？])\s", text.strip(), maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[:limit].rsplit(" ", 1)[0] + "…"
