"""What ad copy may say about an item: its catalog facts and its review evidence, as a :class:`Facts` bundle.

:func:`item_facts` turns one catalog row (plus review highlights) into :class:`ItemFacts`: the readable
attributes a shopper cares about (age, pieces, material, colour...), the price, the brand, the review
rating, and the praised aspects with a quote each. Internal attributes (ASIN, sales rank, stock, source
ratings of another shop) are never used. Every fact carries the id of its source (item or review id).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from shopsense.core.pii import mask_pii
from shopsense.core.wording import short_name
from shopsense.text.grounding import Fact, Facts

# Attributes worth telling a shopper, in the order copy should use them, with Chinese labels.
PUBLIC_ATTRIBUTES = {
    "recommended_age": "适用年龄", "pieces": "件数", "material": "材质", "colour": "颜色", "players": "玩家人数",
    "scale": "比例", "gauge": "轨距", "dimensions": "尺寸", "item_weight": "重量", "languages": "语言",
    "educational_objective": "教育目标", "batteries_included": "含电池", "batteries_required": "需要电池",
    "assembly_required": "需要组装", "remote_control_included": "含遥控器", "care_instructions": "护理说明",
    "size": "尺码", "material_composition": "材质成分",
}
_ZH_VALUES = {
    "yes": "是", "no": "否", "plastic": "塑料", "wood": "木质", "wooden": "木质", "metal": "金属", "cotton": "棉",
    "polyester": "涤纶", "paper": "纸", "cardboard": "纸板", "rubber": "橡胶", "silicone": "硅胶", "fabric": "布料",
    "plush": "毛绒", "foam": "泡沫", "red": "红色", "blue": "蓝色", "green": "绿色", "yellow": "黄色",
    "pink": "粉色", "purple": "紫色", "orange": "橙色", "black": "黑色", "white": "白色", "grey": "灰色",
    "brown": "棕色", "multicolour": "多色", "multicolor": "多色", "english": "英语",
}
ASPECT_ZH = {
    "quality": "品质", "price": "价格", "value": "性价比", "size": "尺寸", "colour": "颜色", "color": "颜色",
    "design": "设计", "material": "材质", "fun": "趣味", "gift": "礼物", "kids": "孩子", "son": "孩子",
    "daughter": "孩子", "grandson": "孩子", "granddaughter": "孩子", "pieces": "零件", "instructions": "说明书",
    "battery": "电池", "batteries": "电池", "sound": "声音", "lights": "灯光", "box": "包装",
    "packaging": "包装", "delivery": "配送", "product": "产品", "toy": "玩具", "game": "游戏", "set": "套装",
    "puzzle": "拼图", "book": "书", "car": "小车", "train": "火车", "doll": "娃娃", "figure": "人偶",
}
_CURRENCY_SIGNS = {"GBP": "£", "USD": "$", "EUR": "€", "CNY": "¥", "RMB": "¥", "JPY": "¥"}
_MIXED_RE = re.compile(r"\b(?:but|however|although|though|except|shame|pity|disappoint\w*)\b|但|不过|可惜",
                       re.IGNORECASE)


@dataclass
class Highlight:
    """One thing reviewers praise: an aspect (None for a plain quote), its counts and a quote."""

    aspect: str | None
    quote: str
    review_id: str = ""
    positive: int = 0
    mentions: int = 0


@dataclass
class ItemFacts:
    """One item's usable facts, both as named fields (for templates) and as a :class:`Facts` bundle."""

    item_id: str
    title: str
    short_name: str
    brand: str
    price: float | None
    currency: str
    category: str
    description: str
    attributes: dict[str, str]
    age_years: int | None
    rating: float | None
    n_reviews: int
    highlights: list[Highlight]
    facts: Facts = field(default_factory=Facts)
    title_zh: str = ""  # the store's Chinese title (a ``title_zh`` column or attribute), used by Chinese copy

    def money(self) -> str | None:
        if self.price is None:
            return None
        sign = _CURRENCY_SIGNS.get(self.currency.upper(), "")
        return f"{sign}{self.price:.2f}" if sign else f"{self.price:.2f} {self.currency}".strip()

    def fact_ids(self, *names: str, text: str | None = None) -> list[dict[str, Any]]:
        """The facts (as dicts) whose key ends with any of ``names`` (":price", ":age", a review id...);
        with ``text``, only those the text actually states (a sentence may have been removed or rephrased)."""
        chosen = [f for f in self.facts.facts if any(n and (f.key == n or f.key.endswith(n)) for n in names)]
        if text is not None:
            chosen = [f for f in chosen if self._stated(f, text)]
        return [{"kind": f.kind, "key": f.key, "text": f.text} for f in chosen]

    def _stated(self, fact: Fact, text: str) -> bool:
        folded = text.casefold()
        if fact.key.endswith(":description"):
            return any(s.casefold() in folded for s in re.split(r"(?<=[.!?])\s+", self.description) if len(s) > 20)
        if fact.key.endswith(":price"):
            return bool(self.money()) and str(self.money()).casefold() in folded
        if fact.key.endswith(":aspect"):
            aspect = str(fact.value)
            return aspect.casefold() in folded or ASPECT_ZH.get(aspect.lower(), "\0") in text
        if fact.key.endswith(":rating"):
            return f"{fact.value:g}" in text if isinstance(fact.value, float | int) else False
        if fact.key.endswith(":age"):
            return re.search(rf"(?<!\d){fact.value}(?!\d)", text) is not None
        value = str(fact.value if fact.value is not None else "")
        if fact.kind == "product" and not fact.key.endswith(":name"):
            return self.title.casefold() in folded
        if fact.key.endswith(":zh:name"):
            return short_name(self.title_zh, 4) in text
        if fact.key.endswith(":name"):
            return any(" ".join(self.title.split()[:k]).casefold() in folded for k in (2, 1))
        return bool(value) and (value.casefold() in folded or zh_value(value) in text)


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return str(value).strip() not in ("", "nan", "None")


def parse_attributes(raw: Any) -> dict[str, Any]:
    """A catalog ``attributes`` cell (dict or JSON text) as a dict; anything else is no attributes."""
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, str) and raw.strip().startswith("{"):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}
    return {}


def zh_value(value: str) -> str:
    """A short English attribute value in Chinese where a glossary entry exists, else unchanged."""
    return _ZH_VALUES.get(value.strip().lower(), value)


def highlights_from_summary(summary: Mapping[str, Any], n: int = 3) -> list[Highlight]:
    """Praised aspects of :meth:`shopsense.marketing.aspects.OpinionIndex.summary` as highlights."""
    out = []
    for row in summary.get("praised", [])[:n]:
        quotes = [q for q in row.get("quotes", []) if q]
        out.append(Highlight(aspect=str(row["aspect"]), quote=quotes[0] if quotes else "",
                             positive=int(row.get("positive", 0)), mentions=int(row.get("mentions", 0))))
    return out


def highlights_from_reviews(reviews: pd.DataFrame, item_id: str, n: int = 3) -> list[Highlight]:
    """Without an opinion index: short sentences from the item's 4-5 star reviews (personal data masked)."""
    from shopsense.marketing.aspects import LexiconSentiment

    rows = reviews[(reviews["item_id"] == item_id) & (reviews["rating"] >= 4)]
    lexicon = LexiconSentiment(threshold=0.3)
    out: list[Highlight] = []
    for row in rows.sort_values(["rating", "review_id"], ascending=[False, True]).itertuples():
        sentences = [mask_pii(s.strip()) for s in re.split(r"(?<=[.!?。！？])\s*", str(row.text or ""))]
        sentences = [s for s in sentences if 20 <= len(s) <= 140 and not _MIXED_RE.search(s)]
        # a 5-star review can still say "but the box was battered": quote only clearly positive sentences
        labels = lexicon.predict_with_confidence(sentences) if sentences else []
        for sentence, label in zip(sentences, labels, strict=True):
            if label.label == "positive" and sentence not in [h.quote for h in out]:
                out.append(Highlight(aspect=None, quote=sentence, review_id=str(row.review_id)))
                break
        if len(out) >= n:
            break
    return out


def _review_stats(reviews: pd.DataFrame | None, item_id: str) -> tuple[float | None, int]:
    if reviews is None or reviews.empty:
        return None, 0
    rated = reviews.loc[reviews["item_id"] == item_id, "rating"].dropna()
    return (round(float(rated.mean()), 1) if len(rated) else None), int(len(rated))


def item_facts(item: Mapping[str, Any], highlights: Sequence[Highlight] = (), reviews: pd.DataFrame | None = None,
               known_titles: Sequence[str] = ()) -> ItemFacts:
    """The :class:`ItemFacts` of one catalog row (``items`` columns of :class:`~shopsense.core.records.StoreData`)."""
    item_id = str(item["item_id"])
    title = str(item.get("title") or "").strip()
    brand = str(item["brand"]).strip() if _present(item.get("brand")) else ""
    price = float(item["price"]) if _present(item.get("price")) else None
    currency = str(item["currency"]) if _present(item.get("currency")) else ""
    category = str(item["category"]).split(" > ")[-1].strip() if _present(item.get("category")) else ""
    description = str(item["description"]).strip() if _present(item.get("description")) else ""
    raw = parse_attributes(item.get("attributes"))
    attributes = {k: str(raw[k]).strip() for k in PUBLIC_ATTRIBUTES if _present(raw.get(k))}
    age = raw.get("min_age_months")
    age_years = int(age) // 12 if _present(age) and str(age).isdigit() and int(age) >= 12 else None
    rating, n_reviews = _review_stats(reviews, item_id)

    facts = Facts(known_titles=known_titles)
    facts.add("product", item_id, f"Product: {title}", title)
    name = short_name(title)
    facts.add("product", f"{item_id}:name", f"Short name: {name}", name)
    title_zh = str(item["title_zh"] if _present(item.get("title_zh")) else raw.get("title_zh") or "").strip()
    if title_zh:
        facts.add("product", f"{item_id}:zh:name", f"中文名：{title_zh}", title_zh)
    if brand:
        facts.add("attribute", f"{item_id}:brand", f"Brand: {brand}", brand)
    if price is not None:
        money = ItemFacts(item_id, title, name, brand, price, currency, category, "", {}, None, None, 0, []).money()
        facts.add("price", f"{item_id}:price", f"Price: {money}", price)
    if category:
        facts.add("attribute", f"{item_id}:category", f"Category: {category}", category)
    if age_years is not None:
        facts.add("attribute", f"{item_id}:age", f"Suitable for ages {age_years} and up ({age_years}岁以上)",
                  age_years)
    for key, value in attributes.items():
        label = key.replace("_", " ")
        zh = zh_value(value)
        both = f"{value} ({zh})" if zh != value else value
        facts.add("attribute", f"{item_id}:{key}", f"{label.capitalize()}: {both} / {PUBLIC_ATTRIBUTES[key]}：{zh}",
                  value)
    if description:
        facts.add("other", f"{item_id}:description", f"Description: {mask_pii(description)}")
    if rating is not None:
        facts.add("review", f"{item_id}:rating",
                  f"Rated {rating:g} out of 5 by {n_reviews} reviewer{'s' if n_reviews != 1 else ''} of this shop "
                  f"(本店{n_reviews}条评价，平均{rating:g}分)", rating)
    kept: list[Highlight] = []
    for h in highlights:
        quote = mask_pii(h.quote)
        key = h.review_id or f"{item_id}:aspect:{h.aspect}"
        if h.aspect:
            zh = ASPECT_ZH.get(h.aspect.lower(), "")
            facts.add("review", f"{key}:aspect", f"Reviewers praise the {h.aspect} ({h.positive} of {h.mentions} "
                      f"mentions positive){f' / 评价称赞{zh}' if zh else ''}", h.aspect)
        if quote:
            facts.add("review", key, f"Review quote: {quote}", quote)
        kept.append(Highlight(h.aspect, quote, key, h.positive, h.mentions))
    return ItemFacts(item_id, title, name, brand, price, currency, category, description, attributes, age_years,
                     rating, n_reviews, kept, facts, title_zh)


def attribute_item_facts(pairs: Sequence[tuple[str, str]], key: str = "attrs") -> ItemFacts:
    """:class:`ItemFacts` from attribute pairs alone (AdvertiseGen's ``类型#上衣*材质#牛仔布`` setting)."""
    kinds = [v for k, v in pairs if k == "类型"]
    noun = kinds[-1] if kinds else "单品"
    facts = Facts()
    facts.add("product", f"{key}:name", f"类型：{noun}", noun)
    attributes: dict[str, str] = {}
    for k, v in pairs:
        if k != "类型":
            facts.add("attribute", f"{key}:{k}:{v}", f"{k}：{v}", v)
            attributes[f"{k}:{v}"] = v
    return ItemFacts(key, noun, noun, "", None, "", "", "", attributes, None, None, 0, [], facts)
