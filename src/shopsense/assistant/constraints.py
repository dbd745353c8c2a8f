"""Shopping constraints: what the shopper asked for, read from one message and kept across turns.

A message gives any of: who it is for and their age (:func:`shopsense.search.query_terms.parse_audience`), a
budget (:func:`~shopsense.search.query_terms.parse_budget`), a product type ("jigsaw", "拼图"), a theme
("loves trains", "恐龙") and an occasion ("birthday", "stocking filler"). :func:`extract` reads them;
:func:`merge` folds them into the dialogue's slots (a new value replaces the old one; a slot the message does
not mention is kept); :func:`unmet` says which of them a catalog item fails, from the item's own attributes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from shopsense.search.query_terms import ChildFit, child_fit, fits_child, parse_audience, parse_budget

if TYPE_CHECKING:
    from shopsense.assistant.state import Slots

# key: (the shopper's words, English then Chinese; what an item's title or category says)
PRODUCT_TYPES: dict[str, tuple[str, str, str]] = {
    "jigsaw": (r"jigsaws?(?: puzzles?)?|jigsaw puzzles?", "拼图", r"\bjigsaws?\b"),
    "puzzle": (r"puzzles?|brain ?teasers?", "谜题|智力玩具", r"\bpuzzles?\b|brain teaser|jigsaw"),
    "board_game": (r"board ?games?", "桌游|棋盘游戏|桌面游戏", r"board games?|\bgames? >|\bgame\b"),
    "card_game": (r"card games?|playing cards", "卡牌|扑克|纸牌", r"card games?|playing cards|\bcards?\b"),
    "game": (r"games?", "游戏", r"\bgames?\b"),
    "lego": (r"lego", "乐高", r"\blego\b"),
    "building": (r"building (?:blocks|bricks|sets?)|construction (?:toys?|sets?)|bricks|blocks", "积木|拼装",
                 r"\blego\b|building|construction|\bbricks?\b|\bblocks?\b|mega bloks"),
    "doll": (r"dolls?|barbie", "娃娃|洋娃娃|芭比", r"\bdolls?\b|barbie|sylvanian"),
    "soft_toy": (r"soft toys?|plush(?:ies|y)?|teddy(?: bears?)?|cuddly toys?|stuffed animals?", "毛绒|泰迪熊|玩偶",
                 r"soft toys?|plush|teddy|cuddly|soft dolls?"),
    "puppet": (r"puppets?", "木偶|手偶|指偶", r"puppets?"),
    "craft": (r"arts? (?:and|&) crafts?|crafts?|colouring|coloring|crayons?|paints?|painting|drawing|art sets?"
              r"|stickers?|pens?|pencils?", "手工|画画|绘画|涂色|蜡笔|彩笔|贴纸|彩色笔",
              r"arts & crafts|\bcraft|colouring|crayon|paint|drawing|pencils?|\bpens?\b|stickers?|crayola"),
    "costume": (r"costumes?|fancy dress|dress(?:ing)? ?up", "服装|化装|装扮|演出服",
                r"costumes?|fancy dress|dress[- ]up"),
    "vehicle": (r"toy cars?|cars?|trucks?|vehicles?|die-?cast", "汽车|小汽车|卡车|玩具车",
                r"\bcars?\b|trucks?|vehicles?|die-cast|diecast|\btractor"),
    "musical": (r"musical (?:toys?|instruments?)|instruments?|drums?|guitars?|xylophones?|keyboards?",
                "乐器|鼓|吉他|木琴|电子琴", r"musical|instruments?|drums?|guitars?|xylophone|recorder|keyboard"),
    "outdoor": (r"outdoor toys?|garden toys?|kites?|balls?|sports? toys?", "户外|风筝|皮球|球类",
                r"sports toys & outdoor|outdoor|garden|kites?|\bballs?\b"),
    "figure": (r"action figures?|figures?|figurines?|playsets?", "人偶|手办|公仔|玩偶套装",
               r"figures?|figurines?|playsets?"),
    "model_kit": (r"model kits?|models? to build", "模型", r"model building|model kits?|\bkits?\b"),
    "educational": (r"educational|learning toys?|stem toys?|science kits?", "益智|早教|教育|科学",
                    r"educational|learning|science|\bstem\b"),
}
THEMES: dict[str, tuple[str, str, str]] = {
    "train": (r"trains?|railways?|locomotives?|thomas", "火车|铁路|小火车",
              r"\btrains?\b|railway|locomotive|thomas|chuggington|brio|\bengine\b|carriage|wagon"),
    "dinosaur": (r"dinosaurs?|dinos?|t-?rex|jurassic", "恐龙",
                 r"dinosaurs?|\bdino\b|t-?rex|jurassic|raptor|stegosaurus"),
    "unicorn": (r"unicorns?", "独角兽", r"unicorns?"),
    "princess": (r"princess(?:es)?", "公主", r"princess"),
    "space": (r"space|rockets?|astronauts?|planets?", "太空|火箭|宇航",
              r"\bspace\b|rocket|astronaut|\bplanets\b|solar system"),
    "pirate": (r"pirates?", "海盗", r"pirates?"),
    "knight": (r"knights?|castles?", "骑士|城堡", r"knights?|castles?"),
    "farm": (r"farms?|farm animals?|animals?|tractors?", "农场|动物", r"\bfarm|animals?|tractor|horse|cow\b|pig\b"),
    "star_wars": (r"star wars", "星球大战|星战", r"star wars"),
    "harry_potter": (r"harry potter|hogwarts", "哈利波特|哈利·波特", r"harry potter|hogwarts"),
    "superhero": (r"super ?heroe?s?|spider-?man|batman|marvel|avengers", "超级英雄|蜘蛛侠|蝙蝠侠|漫威",
                  r"super ?hero|spider-?man|batman|marvel|avengers|x-men|superman"),
    "disney": (r"disney|frozen|mickey|minnie", "迪士尼|冰雪奇缘|米奇|米妮", r"disney|frozen|mickey|minnie"),
    "football": (r"football|soccer", "足球", r"football|soccer"),
    "horse": (r"horses?|ponies|pony", "马|小马", r"\bhorses?\b|pon(?:y|ies)\b"),
}
OCCASIONS: dict[str, str] = {
    "stocking_filler": r"stocking (?:filler|stuffer)s?|袜子礼物|圣诞袜", "party": r"party bags?|party favours?|派对",
    "birthday": r"birthday|b-?day|生日", "christmas": r"christmas|xmas|圣诞",
    "easter": r"easter|复活节",
}
_LOVES = re.compile(r"\b(?:loves?|likes?|into|obsessed with|mad about|fan of|crazy about)\b|喜欢|爱玩|迷", re.I)


def _compile(table: dict[str, tuple[str, str, str]]) -> dict[str, tuple[re.Pattern[str], re.Pattern[str]]]:
    return {key: (re.compile(rf"\b(?:{en})\b|{zh}", re.I), re.compile(catalog, re.I))
            for key, (en, zh, catalog) in table.items()}


_TYPES = _compile(PRODUCT_TYPES)
_THEMES = _compile(THEMES)
_OCCASIONS = {key: re.compile(rf"\b(?:{p})\b" if p.isascii() else p, re.I) for key, p in OCCASIONS.items()}
_MORE_SPECIFIC = {"game": ("board_game", "card_game"), "puzzle": ("jigsaw",), "building": ("lego",)}


@dataclass
class Found:
    """The constraints one message states (None / empty: not mentioned)."""

    child: bool | None = None
    age_months: float | None = None
    min_price: float | None = None
    max_price: float | None = None
    types: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    occasion: str | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)  # where the budget and age words were

    @property
    def budget(self) -> bool:
        return self.min_price is not None or self.max_price is not None

    @property
    def product(self) -> bool:
        return bool(self.types or self.themes)

    def any(self) -> bool:
        return bool(self.child is not None or self.age_months is not None or self.budget or self.product
                    or self.occasion)


def extract(text: str) -> Found:
    """The shopping constraints a message states, in English or Chinese."""
    budget = parse_budget(text)
    audience = parse_audience(text)
    rest = text
    for start, end in sorted(budget.spans + audience.spans, reverse=True):
        rest = rest[:start] + " " * (end - start) + rest[end:]
    types = [key for key, (words, _) in _TYPES.items() if words.search(rest)]
    types = [t for t in types if not any(s in types for s in _MORE_SPECIFIC.get(t, ()))]
    themes = [key for key, (words, _) in _THEMES.items() if words.search(rest)]
    if "train" in themes and re.search(r"\btrain(?:ing|er)\b", rest, re.I):
        themes.remove("train")
    if "horse" in themes and "rocking horse" in rest.lower():
        themes.remove("horse")
    occasion = next((key for key, words in _OCCASIONS.items() if words.search(rest)), None)
    if occasion == "stocking_filler" or occasion == "party":
        types = [t for t in types if t != "outdoor"]  # "stocking" is no sock
    return Found(audience.child, audience.age_months, budget.min_price, budget.max_price, types, themes, occasion,
                 list(budget.spans + audience.spans))


def merge(slots: Slots, found: Found) -> None:
    """Fold a message's constraints into the session's: what it states replaces, the rest is kept."""
    if found.age_months is not None:
        slots.age_months, slots.child = found.age_months, True
    elif found.child is not None:
        if found.child is False or slots.child is not True:
            slots.age_months = None
        slots.child = found.child
    if found.budget:
        slots.min_price, slots.max_price, slots.cheaper = found.min_price, found.max_price, False
    if found.product:
        slots.types, slots.themes = list(found.types), list(found.themes)
    if found.occasion:
        slots.occasion = found.occasion


def catalog_text(row: dict[str, Any]) -> str:
    return f"{row.get('title', '')} | {row.get('category', '')}"


@lru_cache(maxsize=1 << 16)
def _kinds(title: str, category: str) -> tuple[frozenset[str], frozenset[str]]:
    """The product types and themes an item's title and category name, found once per distinct item (a turn
    checks hundreds of items)."""
    text = catalog_text({"title": title, "category": category})
    return (frozenset(k for k, (_, pattern) in _TYPES.items() if pattern.search(text)),
            frozenset(k for k, (_, pattern) in _THEMES.items() if pattern.search(text)))


@dataclass(frozen=True)
class ItemTraits:
    """What the constraint checks read of one catalog item: read once per catalog, checked every turn."""

    fit: ChildFit
    price: float | None
    types: frozenset[str]
    themes: frozenset[str]


def item_traits(row: dict[str, Any]) -> ItemTraits:
    types, themes = _kinds(str(row.get("title", "")), str(row.get("category", "")))
    return ItemTraits(child_fit(row), row.get("price"), types, themes)


def unmet(item: ItemTraits, slots: Slots) -> list[str]:
    """The constraints of ``slots`` this catalog item fails: "age" (not for this child), "budget", "type",
    "theme" (an item without a price never meets a budget)."""
    failed = []
    if slots.child and not fits_child(item.fit, slots.age_months):
        failed.append("age")
    if slots.min_price is not None or slots.max_price is not None:
        price = item.price
        if price is None or (slots.min_price is not None and price < slots.min_price) \
                or (slots.max_price is not None and price > slots.max_price):
            failed.append("budget")
    if slots.types and item.types.isdisjoint(slots.types):
        failed.append("type")
    if slots.themes and item.themes.isdisjoint(slots.themes):
        failed.append("theme")
    return failed


def search_words(slots: Slots) -> str:
    """English words to search the catalog with for the slots' types and themes."""
    return " ".join(TYPE_NAMES[k][0] for k in [*slots.themes, *slots.types])


TYPE_NAMES: dict[str, tuple[str, str]] = {
    "jigsaw": ("jigsaws", "拼图"), "puzzle": ("puzzles", "益智玩具"), "lego": ("LEGO sets", "乐高"),
    "board_game": ("board games", "桌游"), "card_game": ("card games", "卡牌游戏"),
    "game": ("games", "游戏"), "building": ("building sets", "积木"), "doll": ("dolls", "娃娃"),
    "soft_toy": ("soft toys", "毛绒玩具"), "puppet": ("puppets", "木偶"), "craft": ("arts and crafts", "手工用品"),
    "costume": ("costumes", "服装"), "vehicle": ("toy vehicles", "玩具车"), "musical": ("musical toys", "乐器玩具"),
    "outdoor": ("outdoor toys", "户外玩具"), "figure": ("figures and playsets", "人偶玩具"),
    "model_kit": ("model kits", "模型"), "educational": ("educational toys", "益智玩具"),
    "train": ("train", "火车"), "dinosaur": ("dinosaur", "恐龙"), "unicorn": ("unicorn", "独角兽"),
    "princess": ("princess", "公主"), "space": ("space", "太空"), "pirate": ("pirate", "海盗"),
    "knight": ("knights and castles", "骑士城堡"), "farm": ("farm and animal", "农场动物"),
    "star_wars": ("Star Wars", "星球大战"), "harry_potter": ("Harry Potter", "哈利波特"),
    "superhero": ("superhero", "超级英雄"), "disney": ("Disney", "迪士尼"), "football": ("football", "足球"),
    "horse": ("horse and pony", "马"),
}


def describe(slots: Slots, language: str, without: tuple[str, ...] = ()) -> str:
    """The slots in words: "Jigsaws (train) for a 5-year-old under £20" / "适合5岁的孩子、20英镑以内的拼图"."""
    from shopsense.assistant.replies import money
    from shopsense.search.query_terms import age_text

    zh = language == "zh"
    index = 1 if zh else 0
    thing = ", ".join(TYPE_NAMES[t][index] for t in slots.types) if "type" not in without else ""
    theme = ", ".join(TYPE_NAMES[t][index] for t in slots.themes) if "theme" not in without else ""
    if zh:
        parts = []
        if slots.child and "age" not in without:
            parts.append(f"适合{age_text(slots.age_months, 'zh')}" if slots.age_months is not None else "适合孩子")
        if slots.max_price is not None and "budget" not in without:
            parts.append("更便宜" if slots.cheaper else f"{money(slots.max_price)}以内")
        if slots.min_price is not None and "budget" not in without:
            parts.append(f"{money(slots.min_price)}以上")
        noun = f"{theme}{thing}" if (theme or thing) else "商品"
        return f"{'、'.join(parts)}的{noun}" if parts else noun
    noun = " ".join(p for p in (theme, thing) if p) or ("toys" if slots.child else "items")
    if theme and not thing:
        noun = f"{theme} toys"
    text = noun
    if slots.child and "age" not in without:
        text += f" for {age_text(slots.age_months)}" if slots.age_months is not None else " for a child"
    if slots.max_price is not None and "budget" not in without and slots.cheaper:
        text = f"cheaper {text}"
    elif slots.max_price is not None and "budget" not in without:
        text += f" under {money(slots.max_price)}"
    if slots.min_price is not None and "budget" not in without:
        text += f" over {money(slots.min_price)}"
    return text
