"""The shopping assistant: reads a message in the context of its session, picks an action, and answers
only from the store's own data (catalog, reviews, orders, FAQ), through the configured generator.

Actions: product search and recommendation (search + the user's profile, slots respected, rejected
items never shown again, an honest "we don't sell that" with the closest real items); product
questions from the item's data and review summary; orders, for the session's own user only; FAQ and
policy answers with their source; hand-over to a person with a recorded ticket (explicit request,
complaint, strong negative sentiment or repeated failure); greetings, thanks and off-topic messages.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from shopsense.assistant import shopping
from shopsense.assistant.knowledge import FaqIndex, Orders
from shopsense.assistant.nlu import HUMAN_INTENTS, ORDER_INTENTS, SHOPPING_INTENTS, MessageReader, Understanding
from shopsense.assistant.replies import Draft, say, status_word
from shopsense.assistant.sessions import Lease, SessionStore
from shopsense.assistant.state import DialogueState
from shopsense.core.pii import mask_pii
from shopsense.core.records import StoreData
from shopsense.core.settings import Settings
from shopsense.text.generator import Facts, TemplateGenerator, text_pieces

log = logging.getLogger(__name__)
MAX_MESSAGE_CHARS = 2000
FAILURES_BEFORE_HANDOVER = 2
STRONG_NEGATIVE = 0.85
STRONG_NEGATIVE_LEXICON = -0.5  # VADER/SnowNLP polarity in [-1, 1]
_PLAIN_QUESTION_ZH = re.compile(r"怎么|怎样|如何|吗|么|？|\?|能否|能不能|可以|可不可以|多久|多少|哪|什么时候|是否")
_TASK = ("Reply to the shopper as the shop's assistant, in at most three sentences, using the draft's "
         "content. Keep every product name, price, order number and status exactly as in the facts.")


class AssistantError(ValueError):
    """A request the assistant cannot accept (empty message, someone else's session)."""

    def __init__(self, message: str, field: str, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass
class ChatReply:
    """The answer to one message."""

    reply: str
    intent: str
    items: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    escalated: bool = False
    ticket_id: str | None = None
    action: str = ""
    turn: int = 0
    generation: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"reply": self.reply, "items": self.items, "sources": self.sources, "intent": self.intent,
                "escalated": self.escalated, "ticket_id": self.ticket_id, "action": self.action, "turn": self.turn,
                "generation": self.generation}


class Assistant:
    """One per process: models loaded once; per-session state lives in the store."""

    def __init__(self, settings: Settings, shop: Callable[[], Any], reader: MessageReader, faq: FaqIndex,
                 sessions: SessionStore, orders: Orders, sentiment: Any = None, generator: Any = None) -> None:
        self.settings = settings
        self._shop = shop
        self.reader = reader
        self.faq = faq
        self.sessions = sessions
        self.orders = orders
        self.sentiment = sentiment
        self.generator = generator or TemplateGenerator()
        self.temperature = 0.3  # for language-model backends only; the template backend ignores it
        self.max_tokens = 160
        # One turn at a time per session (load, act, save), so two tabs cannot lose each other's turn.
        self._locks: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
        self._locks_guard = threading.Lock()

    def _session_lock(self, session_id: str) -> threading.Lock:
        with self._locks_guard:
            lock = self._locks.get(session_id)
            if lock is None:
                lock = threading.Lock()
                self._locks[session_id] = lock
            return lock

    @classmethod
    def build(cls, settings: Settings, *, shop: Callable[[], Any], data: StoreData, engine: Any, intent: Any,
              sentiment: Any = None, entities: Any = None, generator: Any = None) -> Assistant:
        """Build from the pieces a workspace hands over: ``shop()`` gives the current catalog, search index and
        recommender (or None before they are trained), ``data`` the store's FAQ, ``engine`` the database that
        holds sessions, tickets and orders, and the trained ``intent`` (required) and ``sentiment`` tasks."""
        from shopsense.nlp.entities import EntityExtractor
        from shopsense.text.encoder import get_encoder

        if shop() is None:
            raise AssistantError("the recommender and search index are not trained yet: run `shopsense train`",
                                 "workspace", 503)
        if intent is None:
            raise AssistantError("the intent model is not trained: run `shopsense train`", "workspace", 503)
        encoder = get_encoder("multilingual", cache_dir=settings.cache_dir)
        reader = MessageReader(intent, entities if entities is not None else EntityExtractor.from_store(data))
        return cls(settings, shop, reader, FaqIndex(data.faq, encoder), SessionStore(engine), Orders(engine),
                   sentiment, generator)

    @property
    def shop(self) -> Any:
        """The catalog, search index and recommender being served now (503 while there are none)."""
        state = self._shop()
        if state is None:
            raise AssistantError("the recommender and search index are not loaded", "workspace", 503)
        return state

    # ------------------------------------------------------------------ the turn
    def reply(self, session_id: str, message: str, user_id: str | None = None) -> ChatReply:
        """Answer one message in its session (created on first use) and save the session."""
        clean_session_id(session_id)
        lock = self._session_lock(session_id)
        # The thread lock queues this process's turns; the claim serialises them with other processes'.
        with lock, self.sessions.claim(session_id) as lease:
            return self._reply(session_id, message, user_id, lease)

    def stream(self, session_id: str, message: str, user_id: str | None = None) -> Iterator[dict[str, Any]]:
        """The same turn as :meth:`reply`, as events: ``meta`` (intent, items, sources), then ``delta`` text
        pieces, then ``done``. The whole reply is grounded before its first piece is sent."""
        answer = self.reply(session_id, message, user_id)
        body = answer.as_dict()
        text = body.pop("reply")
        yield {"event": "meta", **body}
        for piece in text_pieces(text):
            yield {"event": "delta", "text": piece}
        yield {"event": "done", "reply": text}

    def feedback_event(self, session_id: str, turn: int, helpful: bool, comment: str | None = None,
                       user_id: str | None = None) -> dict[str, Any]:
        """A ``chat_feedback`` event (value 1 for thumbs up, -1 for down) for an assistant turn of the session;
        the caller stores it with ``Store.append_events``."""
        clean_session_id(session_id)
        state = self.sessions.load(session_id)
        if not state.turns:
            raise AssistantError(f"no conversation with session_id {session_id!r}", "session_id", 404)
        if state.user_id and user_id != state.user_id:
            raise AssistantError("this session belongs to another user", "session_id", 403)
        said = state.turn(turn)
        if said is None or said["role"] != "assistant":
            raise AssistantError(f"turn {turn} is not one of the assistant's replies in this session", "turn")
        asked = state.turn(turn - 1) or {}
        payload = {"turn": turn, "helpful": helpful, "action": said.get("action"), "intent": asked.get("intent"),
                   "items": said.get("items", []), "comment": mask_pii(comment)[:500] if comment else None}
        return {"user_id": state.user_id or user_id or f"session:{session_id}", "type": "chat_feedback",
                "value": 1.0 if helpful else -1.0, "session_id": session_id, "payload": payload}

    def _reply(self, session_id: str, message: str, user_id: str | None, lease: Lease) -> ChatReply:
        message = (message or "").strip()
        if not message:
            raise AssistantError("message is empty", "message")
        if len(message) > MAX_MESSAGE_CHARS:
            raise AssistantError(f"message is longer than {MAX_MESSAGE_CHARS} characters", "message")
        state = self.sessions.load(session_id, user_id)
        # A session that knows its user answers only that user (else a leaked session id would show their orders).
        if state.user_id and state.user_id != user_id:
            raise AssistantError("this session belongs to another user; start a new session_id", "session_id", 403)
        state.user_id = state.user_id or user_id
        read = self.reader.read(message, has_shown_items=bool(state.last_items))
        state.language = read.language
        state.remember("user", mask_pii(message), intent=read.intent)
        draft = self._act(state, read)
        if draft.failed:
            state.failures += 1
        elif draft.action not in ("greeting", "thanks"):
            state.failures = 0
        reason = draft.escalate or ("repeated_failure" if state.failures >= FAILURES_BEFORE_HANDOVER else None)
        if reason and not state.escalated:
            draft = self._hand_over(state, reason, draft)
        elif reason and draft.action == "handover":  # already with a colleague: no second ticket
            draft = Draft("handover", say("handover_open", state.language, ticket_id=state.ticket_id),
                          sources=[{"type": "ticket", "id": state.ticket_id}], escalate=reason)
        generation = self.generator.generate(_TASK, draft.facts, draft.text, user_message=message,
                                             language=read.language, temperature=self.temperature,
                                             max_tokens=self.max_tokens, seed=len(state.turns))
        missing = _left_out(draft, generation.text)
        if missing and not generation.fallback_used:  # grounded but unhelpful: the shopper loses the answer
            generation.violations = [f"reply left out {m}" for m in missing]
            generation.text, generation.fallback_used = draft.text, True
        state.last_reply_items = [i["item_id"] for i in draft.items]
        number = state.remember("assistant", generation.text, action=draft.action,
                                items=[i["item_id"] for i in draft.items])
        self.sessions.save(state, lease)
        return ChatReply(reply=generation.text, intent=read.intent, items=draft.items, sources=draft.sources,
                         escalated=state.escalated, ticket_id=state.ticket_id, action=draft.action,
                         turn=number, generation=generation.as_dict())

    def _act(self, state: DialogueState, read: Understanding) -> Draft:
        lang = read.language
        if read.intent in HUMAN_INTENTS:
            return Draft("handover", "", escalate="asked_for_human" if read.wants_human else "complaint")
        if read.intent == "greeting":
            return Draft("greeting", say("greeting", lang))
        if read.intent == "thanks":
            return Draft("thanks", say("thanks", lang))
        if read.intent == "negative_feedback" and state.last_items:
            return shopping.not_interested(self, state, read)
        if read.intent == "basket":
            return Draft("basket", say("basket", lang))
        if read.intent == "discount":
            return self._faq(state, read, by_intent=False)
        if read.arrival and state.last_order_id and state.user_id and not read.value("order_id"):
            return self._order(state, read, order_id=state.last_order_id, arrival=True)
        if read.intent not in SHOPPING_INTENTS and self._strongly_negative(read):
            return Draft("handover", "", escalate="negative_sentiment")
        if read.intent == "product_question":
            if read.ordinal is None and read.service_cue:  # "it arrived broken, can I return it?": the FAQ's
                faq = self._faq(state, read, by_intent=False)
                if faq.action == "faq":
                    return faq
            draft = shopping.product_question(self, state, read)
            if draft.action == "which_item":  # no product in sight: perhaps a shop question ("how much is shipping")
                faq = self._faq(state, read, by_intent=False)
                return faq if faq.action == "faq" else draft
            return draft
        if read.intent in SHOPPING_INTENTS:
            return shopping.find_products(self, state, read)
        if read.intent in ORDER_INTENTS:
            return self._order(state, read)
        if read.intent == "out_of_scope":
            if read.service_cue:  # "it arrived broken, can I return it?" is the shop's business after all
                faq = self._faq(state, read, by_intent=False)
                if faq.action == "faq":
                    return faq
            return Draft("out_of_scope", say("out_of_scope", lang), failed=state.failures > 0)
        return self._faq(state, read)

    def _strongly_negative(self, read: Understanding) -> bool:
        if self.sentiment is None:
            return False
        prediction = self.sentiment.predict_with_confidence([read.text])[0]
        if prediction.label != "negative" or prediction.confidence < STRONG_NEGATIVE:
            return False
        if read.language == "zh" and _PLAIN_QUESTION_ZH.search(read.text):
            # SnowNLP reads any short question about returns or cancelling as furious ("怎么退货"); a
            # Chinese complaint is recognised by its words instead (nlu's anger patterns)
            return False
        # The model alone hands over plain questions about faults or returns; the lexicon must agree that
        # the words themselves are harsh ("the toy broke and nobody answers", not "can I return it?").
        from shopsense.nlp.lexicon import lexicon_sentiment

        return float(lexicon_sentiment([read.text])[0]) <= STRONG_NEGATIVE_LEXICON

    # ------------------------------------------------------------------ service actions
    def _faq(self, state: DialogueState, read: Understanding, by_intent: bool = True) -> Draft:
        found = self.faq.answer(read.text, read.intent if by_intent and read.confidence >= 0.5 else None,
                                language=read.language)
        if found is None:
            return Draft("dont_know", say("dont_know", read.language), failed=True)
        answer = FaqIndex.short(found.passage)
        facts = Facts().add("policy", found.passage.faq_id, found.passage.text)
        if found.other_language:  # the store wrote no answer in the shopper's language: its own, and say so
            names = {"en": ("English", "英文"), "zh": ("Chinese", "中文")}.get(found.passage.language, ("its own",) * 2)
            text = say("faq_other_language", read.language, answer=answer, title=found.passage.title,
                       language=names[1 if read.language == "zh" else 0])
        else:
            text = say("faq", read.language, answer=answer, title=found.passage.title)
        return Draft("faq", text, facts, sources=[found.source])

    def _order(self, state: DialogueState, read: Understanding, order_id: str | None = None,
               arrival: bool = False) -> Draft:
        lang = read.language
        if not state.user_id:
            general = self._faq(state, read)  # what the FAQ says about it, and how to see their own orders
            if general.action == "faq":
                return Draft("order_sign_in", f"{general.text}\n\n{say('order_sign_in', lang)}", general.facts,
                             sources=general.sources)
            return Draft("order_sign_in", say("order_sign_in", lang))
        order_id = order_id or read.value("order_id")
        lines = self.orders.for_user(state.user_id, order_id)
        if order_id and not lines:
            return Draft("order_not_found", say("order_not_found", lang, order_id=order_id),
                         Facts().add("other", order_id, f"order {order_id} was not found on this account"))
        if not lines:
            return Draft("order_none", say("order_none", lang))
        facts = Facts()
        rows = []
        catalog = self.shop.catalog
        for line in lines[: 1 if order_id else 3]:
            title = title_of(catalog, line)
            facts.add("order_status", line.order_id, f"Order {line.order_id} ({title}) is {line.status}, "
                      f"updated {line.updated_at}.", line.status)
            rows.append(say("order_status", lang, order_id=line.order_id, title=title,
                            status=status_word(line.status, lang), updated=line.updated_at or "-"))
        sources = [{"type": "order", "id": oid} for oid in dict.fromkeys(line.order_id for line in lines[:3])]
        first = lines[0]
        if order_id or len(lines) == 1:
            state.last_order_id = first.order_id
        if arrival or (order_id and read.intent == "delivery_period"):
            return self._arrival(state, read, first, title_of(catalog, first), facts, sources)
        if read.intent == "cancel_order" and order_id:
            is_open = first.status == "processing"
            # Still open: how to cancel. Already on its way: how to return it instead (the cancel steps would
            # contradict the answer).
            policy = self.faq.answer(read.text if is_open else "How do I return an item and get a refund?",
                                     "cancel_order" if is_open else "get_refund", language=lang)
            how = FaqIndex.short(policy.passage) if policy else ""
            if policy:
                facts.add("policy", policy.passage.faq_id, policy.passage.text)
                sources.append(policy.source)
            if first.status in ("cancelled", "refunded"):
                key = "order_cancel_done"
                how = ""
            else:
                key = "order_cancel_open" if is_open else "order_cancel_late"
            text = say(key, lang, order_id=first.order_id, status=status_word(first.status, lang), how=how)
        elif order_id:
            text = rows[0]
        else:
            text = say("order_recent", lang, lines="\n".join(f"- {r}" for r in rows))
        return Draft("order", text.strip(), facts, sources=sources)

    def _arrival(self, state: DialogueState, read: Understanding, line: Any, title: str, facts: Facts,
                 sources: list[dict[str, Any]]) -> Draft:
        """When an order will arrive, from its status and the delivery policy."""
        lang = read.language
        policy = self.faq.answer("How long will my delivery take?", "delivery_period", language=lang)
        rule = FaqIndex.short(policy.passage).split("\n")[0] if policy else ""
        if policy:
            facts.add("policy", policy.passage.faq_id, policy.passage.text)
            sources = [*sources, policy.source]
        key = {"processing": "arrival_processing", "shipped": "arrival_shipped", "delivered": "arrival_delivered"}.get(
            line.status, "arrival_other")
        text = say(key, lang, order_id=line.order_id, title=title, status=status_word(line.status, lang),
                   updated=line.updated_at or "-", rule=rule)
        return Draft("order", text.strip(), facts, sources=sources)

    def _hand_over(self, state: DialogueState, reason: str, draft: Draft) -> Draft:
        lang = state.language
        summary = f"{reason}: " + " | ".join(t["text"] for t in state.turns[-4:] if t["role"] == "user")
        state.ticket_id = self.sessions.open_ticket(state, reason, summary[:1000])
        state.escalated = True
        text = say("handover", lang, ticket_id=state.ticket_id)
        if draft.text and draft.action not in ("handover", "dont_know", "out_of_scope"):
            text = f"{draft.text}\n\n{text}"
        return Draft("handover", text, draft.facts, draft.items, draft.sources + [
            {"type": "ticket", "id": state.ticket_id}], escalate=reason)


def _left_out(draft: Draft, text: str) -> list[str]:
    """What a rephrased reply must still say: the items it lists (by title) and the order numbers."""
    if text == draft.text:
        return []
    wanted = [f"'{i['title']}'" for i in draft.items if i["title"] and i["title"] not in text]
    wanted += [f"order {s['id']}" for s in draft.sources if s["type"] == "order" and s["id"] not in text]
    wanted += [f"ticket {s['id']}" for s in draft.sources if s["type"] == "ticket" and s["id"] not in text]
    return wanted




def title_of(catalog: Any, line: Any) -> str:
    return catalog.item(line.item_id)["title"] or line.item_id


def clean_session_id(raw: str) -> str:
    """The session id if it is well-formed; :class:`AssistantError` naming the field otherwise."""
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,128}", raw or ""):
        raise AssistantError("session_id must be 1-128 letters, digits or _.:-", "session_id")
    return raw
