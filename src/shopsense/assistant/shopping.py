"""The assistant's shopping actions: find and recommend products, answer questions about one of them,
and take "not interested" for an answer. Everything shown is a real catalog item with its real price."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from shopsense.assistant.replies import Draft, money, say
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
_FILLER_EN = re.compile(
    r"\b(?:i(?:'d| would)?\s+(?:really\s+)?(?:want|like|need|love)(?:\s+to\s+(?:buy|get|find|see))?|i'?m\s+"
    r"(?:looking|searching)\s+for|looking\s+for|searching\s+for|can\s+you|could\s+you|would\s+you|please|"
    r"recommend(?:ations?)?|suggest(?:ions?)?|what\s+(?:do|would|can)\s+you|do\s+you\s+(?:have|sell|stock|carry)|"
    r"show\s+me|find\s+me|get\s+me|buy|purchase|any|some|something|anything|a|an|the|me|my|good|nice|great|"
    r"best|what|which|is|are|there|have|you|got|ideas?|options?|in\s+stock|cheaper|less\s+expensive)\b",
    re.IGNORECASE)
_FILLER_ZH = re.compile(r"我想买|我想要|我要买|我要|想买|请问|推荐一下|推荐|有没有|有什么|有卖|^有|卖|帮我找|帮我|给我|"
                        r"一下|一个|一些|一台|一件|一套|一条|一双|一款|一只|一盒|什么|好的|便宜点|便宜一点|便宜|吗|么|呢|"
                        r"吧|的|呀|？|\?|，|。|！")
_TRAILING_EN = re.compile(r"\b(?:for|with|under|below|over|above|between|around|about|that|which)\b.*$",
                          re.IGNORECASE)


def product_query(read: Understanding) -> str:
    """The product words of a message: fillers, prices and politeness removed ("I want to buy a wooden
    train, what do you recommend?" -> "wooden train")."""
    text = read.text
    for entity in sorted(read.entities, key=lambda e: e.start, reverse=True):
        if entity.type in ("price_range", "money", "order_id", "email", "phone"):
            text = text[:entity.start] + " " + text[entity.end:]
    if read.language == "zh":
        return _FILLER_ZH.sub(" ", text).strip()
    best = ""
    for clause in re.split(r"[,.;!?]+", text):  # the clause naming the product is the one left with words
        clause = _FILLER_EN.sub(" ", clause)
        clause = _TRAILING_EN.sub(" ", clause)
        clause = re.sub(r"\s+", " ", re.sub(r"[^\w\s'&-]", " ", clause)).strip()
        if len(clause) > len(best):
            best = clause
    return best


def english_terms(query: str) -> str:
    """A Chinese request with its English glossary terms (the catalog is in English)."""
    from shopsense.search.glossary import expand_chinese_query

    return expand_chinese_query(query) if has_cjk(query) else query


def item_card(assistant: Any, item_id: str, explanation: str | None = None) -> dict[str, Any]:
    card = assistant.shop.catalog.item(item_id)
    summary = assistant.shop.catalog.review_summary(item_id)
    card.update({"average_rating": summary["average"], "review_count": summary["count"]})
    if explanation:
        card["explanation"] = explanation
    return card


def _line(position: int, card: dict[str, Any], language: str) -> str:
    rating = ""
    if card.get("review_count"):
        rating = (f"（{card['average_rating']}分，{card['review_count']}条评价）" if language == "zh"
                  else f" ({card['average_rating']}★, {card['review_count']} reviews)")
    return f"{position}. {card['title']} — {money(card['price'], card.get('currency'))}{rating}"


def _product_facts(facts: Facts, cards: list[dict[str, Any]]) -> Facts:
    for card in cards:
        facts.add("product", card["item_id"], card["title"], card["title"])
        if card["price"] is not None:
            facts.add("price", card["item_id"], f"{card['title']} costs {money(card['price'], card.get('currency'))}",
                      card["price"])
        if card.get("review_count"):
            facts.add("review", card["item_id"], f"rated {card['average_rating']} from {card['review_count']} reviews")
    return facts


def _known_titles(assistant: Any) -> list[str]:
    return [row["title"] for row in assistant.shop.catalog.items.values()]


def _search(assistant: Any, query: str, state: DialogueState, exclude: set[str],
            priced: bool = True) -> list[Any]:
    from shopsense.search import SearchFilters

    search = assistant.shop.search
    if search is None or not query:
        return []
    filters = SearchFilters(min_price=state.slots.min_price if priced else None,
                            max_price=state.slots.max_price if priced else None,
                            exclude_item_ids=frozenset(exclude))
    return search.engine.search(query, CANDIDATES, filters)


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


def _update_slots(assistant: Any, state: DialogueState, read: Understanding, query: str) -> None:
    slots = state.slots
    refinement_only = bool(state.last_items) and (read.cheaper or read.values("colour") or read.values("size")
                                                  or read.values("price_range")) and len(query.split()) <= 2
    if query and not refinement_only:
        slots.query, slots.colour, slots.size = query, None, None
        slots.min_price = slots.max_price = None
    for price_range in read.values("price_range"):
        slots.min_price, slots.max_price = price_range.get("min"), price_range.get("max")
    if read.cheaper and state.last_items:
        items = assistant.shop.catalog.items
        prices = [items[i]["price"] for i in state.last_items if i in items and items[i]["price"] is not None]
        if prices:
            slots.max_price = round(min(prices) - 0.01, 2)
            if slots.min_price is not None and slots.min_price > slots.max_price:
                slots.min_price = None  # "cheaper" than the cheapest shown outranks an older lower bound
    if read.values("colour"):
        slots.colour = str(read.values("colour")[-1])
    if read.values("size"):
        slots.size = str(read.values("size")[-1])


def find_products(assistant: Any, state: DialogueState, read: Understanding) -> Draft:

    lang = read.language
    query = product_query(read)
    _update_slots(assistant, state, read, query)
    search_text = " ".join(p for p in (state.slots.colour, state.slots.size, state.slots.query) if p)
    exclude = set(state.rejected) | (set(state.last_items) if read.cheaper else set())
    hits = _search(assistant, search_text, state, exclude)
    what = _echo(state.slots.query, lang)
    facts = Facts(known_titles=_known_titles(assistant))
    # Whether the shop sells the thing at all is a question about the catalog, not about this budget.
    priced = state.slots.min_price is not None or state.slots.max_price is not None
    probe = _search(assistant, search_text, state, exclude, priced=False) if priced else hits
    if priced and state.slots.query:  # a budget lets weak matches through: keep the ones about the request
        hits = _relevant(assistant, state.slots.query, hits)
    if state.slots.query and not _carried(assistant, state.slots.query, probe):
        english = " ".join(t for t in english_terms(state.slots.query).split() if t.isascii())
        if english and english != state.slots.query:  # "裤子": the closest things to "trousers" in the catalog
            hits = _search(assistant, english, state, exclude)
        cards = [item_card(assistant, h.item_id) for h in hits[:SHOW]]
        if not cards:
            cards, _ = _recommended(assistant, state, exclude)
        state.show([c["item_id"] for c in cards])
        lines = "\n".join(_line(n, c, lang) for n, c in enumerate(cards, 1))
        facts.add("other", "catalog", f"the catalog has no {state.slots.query}")
        state.slots.query = None
        return Draft("not_carried", say("not_carried", lang, what=what, lines=lines),
                     _product_facts(facts, cards), cards, [{"type": "catalog", "id": c["item_id"]} for c in cards])
    personal = False
    if hits:
        ordered, personal = _personal_order(assistant, state, [h.item_id for h in hits])
        cards = [item_card(assistant, i, "Matches your past purchases and your request." if personal else None)
                 for i in ordered[:SHOW]]
    elif state.slots.query:
        constraint = _budget(state, lang)
        return Draft("nothing_found", say("nothing_found", lang, what=what, constraint=constraint), failed=True)
    else:
        cards, personal = _recommended(assistant, state, exclude)
    if not cards:
        return Draft("nothing_found", say("nothing_found", lang, what=what, constraint=""), failed=True)
    state.show([c["item_id"] for c in cards])
    lines = "\n".join(_line(n, c, lang) for n, c in enumerate(cards, 1))
    question = ("想了解哪一件？也可以告诉我预算或颜色。" if lang == "zh"
                else "Would you like details on one of them, or something cheaper or in another colour?")
    key = "results_personal" if personal else "results"
    return Draft("recommend", say(key, lang, what=_echo(state.slots.query, lang, quoted=True), lines=lines,
                                  question=question),
                 _product_facts(facts, cards), cards, [{"type": "catalog", "id": c["item_id"]} for c in cards])


def not_interested(assistant: Any, state: DialogueState, read: Understanding) -> Draft:

    lang = read.language
    state.rejected.extend(i for i in state.last_items if i not in state.rejected)
    exclude = set(state.rejected) | set(state.shown)
    query = state.slots.query
    cards: list[dict] = []
    if query:
        hits = _search(assistant, f"{state.slots.colour or ''} {query}".strip(), state, exclude)
        cards = [item_card(assistant, h.item_id) for h in hits[:SHOW]]
    if not cards:
        cards, _ = _recommended(assistant, state, exclude)
    cards = [c for c in cards if c["item_id"] not in exclude][:SHOW]
    question = say("narrow_question", lang)
    facts = _product_facts(Facts(known_titles=_known_titles(assistant)), cards)
    if not cards:
        state.last_items = []
        return Draft("not_interested", say("not_interested_empty", lang, question=question), facts)
    state.show([c["item_id"] for c in cards])
    lines = "\n".join(_line(n, c, lang) for n, c in enumerate(cards, 1))
    return Draft("not_interested", say("not_interested", lang, question=question, lines=lines), facts, cards,
                 [{"type": "catalog", "id": c["item_id"]} for c in cards])


def product_question(assistant: Any, state: DialogueState, read: Understanding) -> Draft:

    lang = read.language
    item_id = None
    if read.ordinal is not None and state.last_items:
        index = read.ordinal if read.ordinal >= 0 else len(state.last_items) - 1
        item_id = state.last_items[index] if index < len(state.last_items) else None
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
    facts = _product_facts(Facts(known_titles=_known_titles(assistant)), [card])
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
