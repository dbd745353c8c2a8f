"""What the assistant may say comes from here: FAQ and policy passages, item facts, the user's orders.

FAQ retrieval maps a message to the FAQ entry (or policy passage) that answers it, by the intent the
classifier found (the demo FAQ is keyed by Bitext intent) and by similarity in the multilingual
encoder's space, so English and Chinese questions reach the same answer. Below a similarity floor it
answers nothing: the assistant then says it does not know and offers a person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from shopsense.core.db import OrderRow
from shopsense.core.language import cjk_share, has_cjk
from shopsense.search.glossary import ZH_EN_SERVICE, expand_chinese_query

# E5 similarities are compressed into ~0.75-0.9; a related question scores above this, an unrelated one
# below (checked on the demo FAQ with the paraphrases in tests/assistant).
MIN_FAQ_SIMILARITY = 0.82
_ANSWER_CHARS = 420
_STORE_LINE = re.compile(r"^At [^:\n]{2,40}:[ \t]*(.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Passage:
    """One retrievable answer: a FAQ entry or one paragraph of a policy document."""

    faq_id: str
    title: str
    text: str
    intent: str | None
    language: str = "en"  # "zh" when written in Chinese (the ``language`` column, else its characters)


@dataclass(frozen=True)
class FaqAnswer:
    passage: Passage
    score: float
    via: str  # "intent" or "similarity"
    other_language: bool = False  # the store has no answer in the shopper's language; this is its own

    @property
    def source(self) -> dict[str, Any]:
        return {"type": "faq", "id": self.passage.faq_id, "title": self.passage.title}


def _short_answer(text: str, limit: int = _ANSWER_CHARS) -> str:
    """The start of an answer, cut after a whole line or sentence, markdown emphasis removed."""
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text).strip()
    if len(text) <= limit:
        return text
    kept = ""
    for line in text.splitlines(keepends=True):
        if len(kept) + len(line) > limit:
            break
        kept += line
    if len(kept) < limit // 3:  # one long paragraph: cut at its last sentence end
        ends = [m.end() for m in re.finditer(r"[.!?。！？](?=\s)", text[:limit])]
        kept = text[:ends[-1]] if ends else text[:limit].rsplit(" ", 1)[0] + " …"
    return kept.strip()


def _text_language(text: str) -> str:
    return "zh" if cjk_share(text) >= 0.2 else "en"


def _column(row: Any, name: str) -> str | None:
    value = getattr(row, name, None)
    return str(value).strip() if isinstance(value, str) and value.strip() else None


def _passages(faq: pd.DataFrame) -> list[Passage]:
    out: list[Passage] = []
    for row in faq.itertuples(index=False):
        source = str(getattr(row, "source", "") or "")
        title = str(row.question or row.faq_id)
        intent = source.rsplit("/", 1)[1] if source.startswith("bitext-customer-support/") else None
        answer = str(row.answer or "")
        language = _column(row, "language") or _text_language(f"{title} {answer}")
        if intent and intent.endswith(f"_{language}"):  # "check_refund_policy_zh": that entry in Chinese
            intent = intent[: -len(language) - 1]
        if source.endswith(".md"):
            # A policy document: each paragraph or bullet answers its own question.
            for part in re.split(r"\n\s*\n|\n(?=- )", answer):
                part = part.strip().lstrip("- ").strip()
                if len(part) > (12 if language == "zh" else 30):
                    out.append(Passage(str(row.faq_id), title, part, None, language))
        else:
            out.append(Passage(str(row.faq_id), title, answer, intent, language))
    return out


class FaqIndex:
    """FAQ entries and policy passages, found by intent or by multilingual similarity."""

    def __init__(self, faq: pd.DataFrame, encoder: Any) -> None:
        self.encoder = encoder
        self.passages = _passages(faq)
        # An intent's entry in each language the store wrote it in; the first one is the store's own.
        self.by_intent: dict[str, Passage] = {}
        self.translations: dict[tuple[str, str], Passage] = {}
        for p in self.passages:
            if p.intent:
                self.by_intent.setdefault(p.intent, p)
                self.translations.setdefault((p.intent, p.language), p)
        alt = faq.get("alt_questions")
        extra = {}
        if alt is not None:
            for fid, questions in zip(faq["faq_id"], alt, strict=True):
                if isinstance(questions, str) and questions.strip():
                    extra[str(fid)] = questions.replace("|", ".")
        keys = [f"{p.title}. {extra.get(p.faq_id, '')} {p.text[:300]}" if p.intent else f"{p.title}: {p.text}"
                for p in self.passages]
        self.vectors_ = encoder.encode(keys) if keys else np.zeros((0, 1), dtype=np.float32)

    def answer(self, message: str, intent: str | None = None, language: str | None = None) -> FaqAnswer | None:
        """The passage answering ``message`` (by ``intent`` when the FAQ has it, else by similarity), in the
        shopper's ``language`` when the store has it in that language (a translation of the entry, or the
        closest passage written in it); otherwise in the store's own language, marked ``other_language``."""
        if intent and intent in self.by_intent:
            return self._in_language(FaqAnswer(self.by_intent[intent], 1.0, "intent"), message, language)
        if not self.passages:
            return None
        raw = message
        if has_cjk(message):  # an English FAQ is found far better with the English terms
            message = expand_chinese_query(message, ZH_EN_SERVICE)
        scores = self.vectors_ @ self.encoder.encode([message])[0]
        best = int(np.argmax(scores))
        if float(scores[best]) < MIN_FAQ_SIMILARITY:
            return None
        return self._in_language(FaqAnswer(self.passages[best], float(scores[best]), "similarity"), raw, language)

    def _in_language(self, found: FaqAnswer, message: str, language: str | None) -> FaqAnswer:
        if language is None or found.passage.language == language:
            return found
        translated = self.translations.get((found.passage.intent or "", language))
        if translated is not None:
            return FaqAnswer(translated, found.score, found.via)
        own = [n for n, p in enumerate(self.passages) if p.language == language]
        if own and found.via == "similarity":
            scores = self.vectors_[own] @ self.encoder.encode([message])[0]
            best = int(np.argmax(scores))
            if float(scores[best]) >= MIN_FAQ_SIMILARITY and float(scores[best]) >= found.score - 0.03:
                return FaqAnswer(self.passages[own[best]], float(scores[best]), "similarity")
        return FaqAnswer(found.passage, found.score, found.via, other_language=True)

    @staticmethod
    def short(passage: Passage) -> str:
        """The answer to show: the store's own rule first (the "At <Shop>:" paragraph of an imported FAQ
        entry), then as much of the general how-to as fits."""
        match = _STORE_LINE.search(passage.text)
        if not match:
            return _short_answer(passage.text)
        own = match.group(1).strip()
        general = (passage.text[:match.start()] + passage.text[match.end():]).strip()
        kept: list[str] = []
        room = _ANSWER_CHARS - len(own)
        for paragraph in re.split(r"\n\s*\n", re.sub(r"\*\*(.+?)\*\*", r"\1", general)):
            if len(paragraph) + 2 > room:
                break
            kept.append(paragraph.strip())
            room -= len(paragraph) + 2
        while kept and kept[-1].endswith(":"):  # an introduction whose list did not fit
            kept.pop()
        return "\n\n".join([own, *kept]).strip()


@dataclass(frozen=True)
class OrderLine:
    order_id: str
    user_id: str
    item_id: str
    status: str
    created_at: str | None
    updated_at: str | None


class Orders:
    """Order lookups straight from the store's table (always current; never another user's rows)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _query(self, *conditions: Any, limit: int = 20) -> list[OrderLine]:
        cols = (OrderRow.order_id, OrderRow.user_id, OrderRow.item_id, OrderRow.status, OrderRow.created_at,
                OrderRow.updated_at)
        stmt = select(*cols).where(*conditions).order_by(OrderRow.created_at.desc(), OrderRow.order_id)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt.limit(limit)).all()
        return [OrderLine(r.order_id, r.user_id, r.item_id, r.status,
                          r.created_at.date().isoformat() if r.created_at else None,
                          r.updated_at.date().isoformat() if r.updated_at else None) for r in rows]

    def for_user(self, user_id: str, order_id: str | None = None) -> list[OrderLine]:
        """The user's own order lines (one order, or their most recent ones). Another user's order is
        simply not found: the answer never reveals whether it exists."""
        conditions = [OrderRow.user_id == user_id]
        if order_id:
            conditions.append(OrderRow.order_id == order_id)
        return self._query(*conditions)
