"""How a catalog item is shown in a reply: its card (public fields, rating, explanation), its numbered line,
and the facts a reply listing it is grounded on."""

from __future__ import annotations

from typing import Any

from shopsense.assistant.replies import money
from shopsense.core.wording import counted
from shopsense.text.generator import Facts


def item_card(assistant: Any, item_id: str, explanation: str | None = None) -> dict[str, Any]:
    card = assistant.shop.catalog.item(item_id)
    summary = assistant.shop.catalog.review_summary(item_id)
    card.update({"average_rating": summary["average"], "review_count": summary["count"]})
    if explanation:
        card["explanation"] = explanation
    return card


def line(position: int, card: dict[str, Any], language: str) -> str:
    rating = ""
    if card.get("review_count"):
        rating = (f"（{card['average_rating']}分，{card['review_count']}条评价）" if language == "zh"
                  else f" ({card['average_rating']}★, {counted(card['review_count'], 'review')})")
    return f"{position}. {card['title']} — {money(card['price'], card.get('currency'))}{rating}"


def product_facts(facts: Facts, cards: list[dict[str, Any]]) -> Facts:
    for card in cards:
        facts.add("product", card["item_id"], card["title"], card["title"])
        if card["price"] is not None:
            facts.add("price", card["item_id"], f"{card['title']} costs {money(card['price'], card.get('currency'))}",
                      card["price"])
        if card.get("review_count"):
            facts.add("review", card["item_id"], f"rated {card['average_rating']} from {card['review_count']} reviews")
    return facts


def known_titles(assistant: Any) -> list[str]:
    return [row["title"] for row in assistant.shop.catalog.items.values()]
