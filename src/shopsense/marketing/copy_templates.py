"""Grounded data-to-text templates for ad copy, in English and Chinese, in four tones.

Each function returns candidate :class:`Draft` texts built only from an item's facts; every draft records
the fact keys it used. Templates never add a number, claim or superlative of their own, so the checks
in :mod:`shopsense.marketing.copy_checks` pass by construction; they still run on every draft.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from shopsense.core.wording import short_name
from shopsense.marketing.copy_facts import ASPECT_ZH, ItemFacts, zh_value

TONES = ("friendly", "playful", "premium", "practical")
_INTRO_EN = {
    "friendly": ["Say hello to the {name}{by}.", "Meet the {name}{by}.", "Here is the {name}{by}."],
    "playful": ["Ready for some fun? Meet the {name}{by}.", "Playtime just got better with the {name}{by}.",
                "Guess what just arrived? The {name}{by}."],
    "premium": ["Introducing the {name}{by}.", "Discover the {name}{by}.", "Presenting the {name}{by}."],
    "practical": ["The {name}{by}: the key facts.", "{name}{by} at a glance.", "About the {name}{by}."],
}
_CLOSE_EN = {
    "friendly": ["A lovely pick to give or to keep.", "Add it to your basket today.", "We hope you enjoy it."],
    "playful": ["Let the games begin!", "Let the fun begin!", "Time to play!"],
    "premium": ["A considered choice{from_brand}.", "Chosen with care{from_brand}.", "An easy choice to make."],
    "practical": ["Everything you need to decide is above.", "Check the details and order today.",
                  "Order online today."],
}
_INTRO_ZH = {
    "friendly": ["来认识一下{brand}{name}吧。", "为你推荐{brand}{name}。", "{brand}{name}来啦。"],
    "playful": ["好玩的来啦！{brand}{name}上新。", "快乐时光开始：{brand}{name}。", "猜猜来了什么？{brand}{name}！"],
    "premium": ["{brand}{name}，品质之选。", "隆重推荐{brand}{name}。", "{brand}{name}，精心甄选。"],
    "practical": ["{brand}{name}，参数一览。", "{brand}{name}：关键信息如下。", "关于{brand}{name}。"],
}
_CLOSE_ZH = {
    "friendly": ["快带它回家吧！", "送礼自用都合适。", "希望你喜欢。"],
    "playful": ["一起开心玩耍吧！", "快乐马上开始！", "一起来玩吧！"],
    "premium": ["用心之选，值得拥有。", "细节之处见用心。", "值得细细品味。"],
    "practical": ["按需选购即可。", "参数如上，欢迎选购。", "欢迎下单。"],
}
_ZH_TYPE_PHRASES = {
    "材质": ["采用{v}材质", "{v}面料", "选用{v}"], "颜色": ["{v}配色", "{v}色调", "颜色是{v}"],
    "风格": ["{v}风格", "尽显{v}气质", "走{v}路线"], "图案": ["{v}图案点缀", "{v}元素", "饰以{v}"],
    "版型": ["{v}版型", "{v}剪裁", "版型{v}"], "衣样式": ["{v}款式", "{v}样式", "经典{v}"],
    "裙型": ["{v}裙型", "{v}造型", "裙型为{v}"], "裤型": ["{v}裤型", "{v}造型", "裤型为{v}"],
    "领型": ["{v}领型", "{v}设计的领子", "领型为{v}"], "衣领型": ["{v}领口", "{v}设计的领子", "领型为{v}"],
    "裙领型": ["{v}领口", "{v}设计的领子", "领型为{v}"], "袖型": ["{v}袖型", "{v}设计的袖子", "袖型为{v}"],
    "衣袖型": ["{v}设计", "{v}袖子", "袖型为{v}"], "裙袖型": ["{v}设计", "{v}袖子", "袖型为{v}"],
    "衣长": ["{v}长度", "{v}衣长", "长度为{v}"], "裙长": ["{v}长度", "{v}裙长", "长度为{v}"],
    "裤长": ["{v}长度", "{v}裤长", "长度为{v}"], "衣款式": ["{v}细节", "加入{v}", "{v}设计"],
    "裙款式": ["{v}细节", "加入{v}", "{v}设计"], "裤款式": ["{v}细节", "加入{v}", "{v}设计"],
    "衣门襟": ["{v}门襟", "门襟为{v}", "{v}开合"], "裤腰型": ["{v}腰型", "腰型为{v}", "{v}腰头"],
    "裙衣门襟": ["{v}门襟", "门襟为{v}", "{v}开合"], "裙下摆": ["{v}下摆", "下摆{v}", "{v}裙摆"],
    "裤门襟": ["{v}门襟", "门襟为{v}", "{v}开合"], "适用年龄": ["适合{v}", "{v}适用", "面向{v}"],
}


_ZH_ATTRIBUTE = {"pieces": "共{v}件", "material": "{v}材质", "colour": "{v}配色", "players": "适合{v}人一起玩",
                 "scale": "比例{v}", "languages": "语言：{v}"}
_HEAD_ZH = {"friendly": "推荐｜", "playful": "好玩｜", "premium": "甄选｜", "practical": ""}


@dataclass
class Draft:
    """A candidate text and the fact keys it was built from."""

    text: str
    keys: list[str] = field(default_factory=list)


def _fit(drafts: list[Draft], limit: int) -> list[Draft]:
    seen: set[str] = set()
    out = []
    for d in drafts:
        text = re.sub(r"\s+", " ", d.text).strip()
        if text and len(text) <= limit and text not in seen:
            seen.add(text)
            out.append(Draft(text, d.keys))
    return out


def _first_sentences(description: str, limit: int = 160) -> list[str]:
    sentences = re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", description).strip())
    return [s[0].upper() + s[1:] for s in sentences if 25 <= len(s) <= limit and s[-1:] in ".!?"][:3]


def _quote(text: str) -> str:
    text = text.strip()
    return f"\u201c{text}\u201d" + ("" if text[-1:] in ".!?" else ".")


def _en_attribute_phrases(f: ItemFacts) -> list[tuple[str, str]]:
    a, out = f.attributes, []
    if f.age_years is not None:
        out.append((f"suitable for ages {f.age_years} and up", ":age"))
    if "pieces" in a and a["pieces"].isdigit() and int(a["pieces"]) > 1:
        out.append((f"{a['pieces']} pieces", ":pieces"))
    if "material" in a and len(a["material"]) <= 30:
        out.append((f"made of {a['material'].lower()}", ":material"))
    if "colour" in a and len(a["colour"]) <= 20:
        out.append((f"in {a['colour'].lower()}", ":colour"))
    if "players" in a and len(a["players"]) <= 12:
        out.append((f"for {a['players']} players", ":players"))
    if a.get("batteries_required", "").lower() == "no":
        out.append(("no batteries required", ":batteries_required"))
    if "scale" in a and len(a["scale"]) <= 12:
        out.append((f"scale {a['scale']}", ":scale"))
    return out


def _aspect_quotes(f: ItemFacts) -> list[tuple[str | None, str, str]]:
    return [(h.aspect, h.quote, h.review_id) for h in f.highlights]


def english_drafts(f: ItemFacts, channel: str, tone: str, limit: int) -> list[Draft]:
    """Candidate English drafts for ``channel`` (headline | short | description) in ``tone``."""
    by = f" by {f.brand}" if f.brand and f.brand.lower() not in f.short_name.lower() else ""
    money = f.money()
    aspects = [h for h in f.highlights if h.aspect]
    attrs = _en_attribute_phrases(f)
    drafts: list[Draft] = []
    if channel == "headline":
        drafts.append(Draft(short_name(f.title, limit), [":name"]))
        if by:
            drafts.append(Draft(f"{f.brand} {short_name(f.title, limit - len(f.brand) - 1)}", [":name", ":brand"]))
        if f.age_years is not None:
            tail = f", ages {f.age_years}+"
            drafts.append(Draft(short_name(f.title, limit - len(tail)) + tail, [":name", ":age"]))
        if money:
            tail = f", {money}"
            drafts.append(Draft(short_name(f.title, limit - len(tail)) + tail, [":name", ":price"]))
        for h in aspects[:2]:
            drafts.append(Draft(f"Reviewers love the {h.aspect}", [f"{h.review_id}:aspect"]))
        lead = {"friendly": "Meet the ", "playful": "Play with the ", "premium": "Discover the ",
                "practical": ""}[tone]
        if lead:
            drafts.insert(0, Draft(lead + short_name(f.title, limit - len(lead)), [":name"]))
        return _fit(drafts, limit)
    name = short_name(f.title, 40 if channel == "short" else 60)
    price_line = f"Price: {money}." if money else ""  # never "Now": that announces a sale the data does not hold
    if channel == "short":
        for i, (phrase, key) in enumerate(attrs[:3] or [("", "")]):
            text = f"{name}{by}{', ' + phrase if phrase else ''}. {price_line}"
            drafts.append(Draft(text, [":name", ":brand" if by else "", key, ":price" if money else ""]))
            if i == 0 and aspects:
                drafts.append(Draft(f"{name}: reviewers praise the {aspects[0].aspect}. {price_line}",
                                    [":name", f"{aspects[0].review_id}:aspect", ":price" if money else ""]))
        if f.rating is not None and f.n_reviews >= 2:
            drafts.append(Draft(f"{name}, rated {f.rating:g} out of 5 by {f.n_reviews} shoppers.",
                                [":name", ":rating"]))
        for intro in _INTRO_EN[tone]:
            drafts.append(Draft(f"{intro.format(name=name, by=by)} {price_line}",
                                [":name", ":brand" if by else "", ":price" if money else ""]))
        if f.rating is not None and f.rating >= 4 and f.n_reviews >= 2 and aspects:
            drafts.append(Draft(f"Shoppers rate the {name} {f.rating:g}/5 and praise the {aspects[0].aspect}.",
                                [":name", ":rating", f"{aspects[0].review_id}:aspect"]))
        return _fit(drafts, limit)
    # description: three shapes (story, key facts, review-led), each with two intros and closings
    openers = _first_sentences(f.description)
    quotes = [q for q in _aspect_quotes(f) if q[1]]
    money_line = [(f"Yours for {money}.", ":price")] if money else []
    rating_line = ([(f"Rated {f.rating:g} out of 5 by {f.n_reviews} shoppers.", ":rating")]
                   if f.rating is not None and f.n_reviews >= 2 else [])
    for v in range(6):
        shape, turn = v % 3, v // 3
        close = _CLOSE_EN[tone][(shape + turn) % 3].format(from_brand=f" from {f.brand}" if f.brand else "")
        rotated = attrs[turn % max(1, len(attrs)):] + attrs[:turn % max(1, len(attrs))]
        parts: list[tuple[str, str]] = [(_INTRO_EN[tone][(shape + turn) % 3].format(name=name, by=by), ":name")]
        if shape == 0:
            if openers:
                parts.append((openers[turn % len(openers)], ":description"))
            if rotated:
                parts.append(("In short: " + ", ".join(p for p, _ in rotated[:3]) + ".", rotated[0][1]))
                parts += [("", k) for _, k in rotated[1:3]]
            if quotes:
                q = quotes[turn % len(quotes)]
                parts.append((f"One shopper wrote: {_quote(q[1])}", q[2]))
        elif shape == 1:
            if rotated:
                parts.append(("Key facts: " + "; ".join(p for p, _ in rotated[:4]) + ".", rotated[0][1]))
                parts += [("", k) for _, k in rotated[1:4]]
            if aspects:
                h = aspects[turn % len(aspects)]
                parts.append((f"Reviewers praise the {h.aspect}.", f"{h.review_id}:aspect"))
            parts += rating_line
        else:
            praise = [(f"Reviewers praise the {h.aspect}.", f"{h.review_id}:aspect") for h in aspects[:1]]
            parts += rating_line[:1] or praise
            if quotes:
                q = quotes[(turn + 1) % len(quotes)]
                parts.append((f"In their words: {_quote(q[1])}", q[2]))
            if len(openers) > 1:
                parts.append((openers[(turn + 1) % len(openers)], ":description"))
            if rotated:
                parts.append(("Good to know: " + ", ".join(p for p, _ in rotated[:2]) + ".", rotated[0][1]))
                parts += [("", k) for _, k in rotated[1:2]]
        parts += money_line + [(close, "")]
        while len(" ".join(p for p, _ in parts if p)) > limit and len(parts) > 3:
            # drop the longest middle sentence (a description quote, usually) until it fits
            middle = max(range(1, len(parts) - 1), key=lambda i: len(parts[i][0]))
            parts.pop(middle)
        keys = [":brand" if by else ""] + [k for p, k in parts if k]
        drafts.append(Draft(" ".join(p for p, _ in parts if p), [k for k in keys if k]))
    return _fit(drafts, limit)


def chinese_drafts(f: ItemFacts, channel: str, tone: str, limit: int) -> list[Draft]:
    """Candidate Simplified-Chinese drafts: the product named by the store's Chinese title when it gives one,
    else as in the catalog."""
    money = f.money()
    age = f"{f.age_years}岁以上" if f.age_years is not None else ""
    title = f.title_zh or f.title
    brand = f"{f.brand} " if f.brand and f.brand.lower() not in short_name(title).lower() else ""
    aspects = [(h, ASPECT_ZH[h.aspect.lower()]) for h in f.highlights if h.aspect and h.aspect.lower() in ASPECT_ZH]
    attrs = [(_ZH_ATTRIBUTE[k].format(v=zh_value(v)), f":{k}") for k, v in f.attributes.items()
             if k in _ZH_ATTRIBUTE and len(v) <= 20]
    drafts: list[Draft] = []
    if channel == "headline":
        # Every Chinese headline says something in Chinese: a catalog name is often English only, and
        # "Playmobil 5497 Christmas" alone is not a Chinese headline.
        tail = "" if f.title_zh else "｜商品介绍"
        drafts.append(Draft(short_name(title, limit - len(tail)) + tail, [":name"]))
        if brand:
            drafts.append(Draft(brand + short_name(title, limit - len(brand) - len(tail)) + tail,
                                [":name", ":brand"]))
        if age:
            tail = f"｜{age}适用"
            drafts.append(Draft(short_name(title, limit - len(tail)) + tail, [":name", ":age"]))
        if money:
            tail = f"｜售价{money}"
            drafts.append(Draft(short_name(title, limit - len(tail)) + tail, [":name", ":price"]))
        for h, zh in aspects[:2]:
            tail = f"｜买家称赞{zh}"
            drafts.append(Draft(short_name(title, limit - len(tail)) + tail, [":name", f"{h.review_id}:aspect"]))
        if f.rating is not None and f.n_reviews >= 2:
            tail = f"｜{f.rating:g}分好评" if f.rating >= 4 else ""
            if tail:
                drafts.append(Draft(short_name(title, limit - len(tail)) + tail, [":name", ":rating"]))
        lead = _HEAD_ZH[tone]
        if lead:
            drafts.insert(0, Draft(lead + short_name(title, limit - len(lead)), [":name"]))
        return _fit(drafts, limit)
    name = short_name(title, 40 if channel == "short" else 60)
    price = f"售价{money}。" if money else ""
    if channel == "short":
        if age:
            drafts.append(Draft(f"{brand}{name}，适合{age}的孩子。{price}", [":name", ":brand", ":age", ":price"]))
        for phrase, key in attrs[:2]:
            drafts.append(Draft(f"{brand}{name}，{phrase}。{price}", [":name", ":brand", key, ":price"]))
        for h, zh in aspects[:1]:
            drafts.append(Draft(f"{name}：买家称赞{zh}。{price}", [":name", f"{h.review_id}:aspect", ":price"]))
        if f.rating is not None and f.n_reviews >= 2:
            drafts.append(Draft(f"{name}，本店{f.n_reviews}条评价，平均{f.rating:g}分。", [":name", ":rating"]))
        for intro in _INTRO_ZH[tone]:
            drafts.append(Draft(intro.format(brand=brand, name=name) + price, [":name", ":brand", ":price"]))
        return _fit(drafts, limit)
    drafts = []
    for v in range(6):
        parts, keys = [_INTRO_ZH[tone][v % 3].format(brand=brand, name=name)], [":name", ":brand"]
        if age:
            parts.append(f"适合{age}的孩子。")
            keys.append(":age")
        chosen = attrs[v % max(1, len(attrs)):] + attrs[:v % max(1, len(attrs))]
        if chosen:
            parts.append("，".join(p for p, _ in chosen[:3]) + "。")
            keys += [k for _, k in chosen[:3]]
        if aspects:
            h, zh = aspects[v % len(aspects)]
            parts.append(f"买家特别称赞它的{zh}。")
            keys.append(f"{h.review_id}:aspect")
        if f.rating is not None and f.n_reviews >= 2 and v % 2 == 1:
            parts.append(f"本店{f.n_reviews}条评价，平均{f.rating:g}分。")
            keys.append(":rating")
        if money:
            parts.append(price)
            keys.append(":price")
        parts.append(_CLOSE_ZH[tone][(v + v // 3) % 3])
        drafts.append(Draft("".join(parts), keys))
    return _fit(drafts, limit)


def parse_advertisegen(content: str) -> list[tuple[str, str]]:
    """AdvertiseGen's ``类型#上衣*材质#牛仔布`` as [("类型", "上衣"), ("材质", "牛仔布")]."""
    pairs = []
    for part in content.split("*"):
        key, sep, value = part.partition("#")
        if sep and key.strip() and value.strip():
            pairs.append((key.strip(), value.strip()))
    return pairs


def attribute_drafts_zh(pairs: Sequence[tuple[str, str]], tone: str = "friendly", n: int = 3,
                        seed: int = 0) -> list[Draft]:
    """Chinese product copy from attribute pairs alone (the AdvertiseGen setting): every value is used."""
    kinds = [v for k, v in pairs if k == "类型"]
    noun = kinds[-1] if kinds else "单品"
    rest = [(k, v) for k, v in pairs if k != "类型"]
    rng = random.Random(seed)
    drafts = []
    for variant in range(max(n, 1) * 2):
        order = rest[:]
        rng.shuffle(order)
        phrases = []
        for k, v in order:
            options = _ZH_TYPE_PHRASES.get(k, ["{k}为{v}", "{v}{k}", "{k}：{v}"])
            phrases.append(options[variant % len(options)].format(k=k, v=v))
        intro = ["这款{noun}", "推荐这件{noun}", "来看看这款{noun}"][variant % 3].format(noun=noun)
        body = "，".join(phrases)
        closing = _CLOSE_ZH.get(tone, _CLOSE_ZH["friendly"])[variant % 3]
        drafts.append(Draft(f"{intro}{'，' + body if body else ''}。{closing}", [k for k, _ in pairs]))
    return _fit(drafts, 500)[:n]
