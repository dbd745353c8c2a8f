"""Reading a product request into the dialogue's slots: the product words of a message (fillers, prices,
ages and gift words removed), and how a message changes what the shopper is looking for (a new product
replaces the old one; a refinement such as "cheaper", "under £10" or "for a 4 year old" keeps it)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from shopsense.assistant.constraints import merge

if TYPE_CHECKING:
    from shopsense.assistant.nlu import Understanding
    from shopsense.assistant.state import DialogueState

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


_GENERIC_EN = re.compile(
    r"\b(?:gifts?|presents?|toys?|ideas?|stuff|things?|items?|for|kids?|child(?:ren)?|boys?|girls?|sons?|daughters?"
    r"|nephews?|nieces?|grand(?:son|daughter|child)s?|little ones?|old|birthday|christmas|xmas|stocking|fillers?"
    r"|stuffers?|who|loves?|likes?|into|he|she|is|and|with|party|my|our|his|her|one|else|more|other|others"
    r"|cheap|budget|toddlers?|bab(?:y|ies)|teens?|teenagers?|aged?|family|do|what|you|have|sell|show|please|whats?"
    r"|about|how|s|i|we|they|it|that|this|of|to|in|on|be|could|would|like|nice|fun|idea|suitable|something)\b",
    re.IGNORECASE)
_GENERIC_ZH = re.compile(r"礼物|玩具|孩子|小孩|儿童|儿子|女儿|男孩|女孩|小朋友|宝宝|婴儿|幼儿|生日|圣诞|适合|给|喜欢"
                         r"|的|买|个"
                         r"|还有|别的|其他|什么|东西|吗|呢|我|他|她|送|想|要|款|些|和|或|很|爱玩|左右|岁|是")
MORE_WORDS = re.compile(r"\b(?:what else|anything else|more (?:options|ideas|of them|like (?:this|these))|show me more"
                         r"|other options|any others|something else)\b|还有别的|还有什么|更多|其他的|别的呢", re.I)


def residual_query(read: Understanding, found: Any) -> str:
    """The message's product words once its budget, age, recipient and gift words are removed."""
    from dataclasses import replace

    from shopsense.search.query_terms import strip_spans

    text = strip_spans(read.text, found.spans)
    words = product_query(replace(read, text=text, entities=[e for e in read.entities if e.type in ("order_id",)]))
    words = _GENERIC_ZH.sub(" ", words) if read.language == "zh" else _GENERIC_EN.sub(" ", words)
    words = re.sub(r"\b(?:years?|months?|yrs?|yo)\b|\d+", " ", words)
    return re.sub(r"\s+", " ", words).strip(" -'&")


def update_slots(assistant: Any, state: DialogueState, read: Understanding, query: str, found: Any) -> None:
    slots = state.slots
    refinement_only = bool(state.last_items) and not found.product and len(query.split()) <= 2 and (
        read.cheaper or read.values("colour") or read.values("size") or found.budget or found.age_months is not None
        or found.child is not None or bool(MORE_WORDS.search(read.text)))
    if (query or found.product) and not refinement_only:
        slots.query, slots.colour, slots.size = query or None, None, None
        slots.types, slots.themes = [], []
        if slots.cheaper:  # "cheaper" was about the last product, not this one
            slots.max_price, slots.cheaper = None, False
    merge(slots, found)
    if read.cheaper and state.last_items:
        items = assistant.shop.catalog.items
        seen = state.last_reply_items or state.last_items  # below what the last reply showed
        prices = [items[i]["price"] for i in seen if i in items and items[i]["price"] is not None]
        if prices:
            slots.max_price, slots.cheaper = round(min(prices) - 0.01, 2), True
            if slots.min_price is not None and slots.min_price > slots.max_price:
                slots.min_price = None  # "cheaper" than the cheapest shown outranks an older lower bound
    if read.values("colour"):
        slots.colour = str(read.values("colour")[-1])
    if read.values("size"):
        slots.size = str(read.values("size")[-1])
