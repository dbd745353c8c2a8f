"""Understanding one message in context: intent, entities, and the conversational moves a classifier
trained on single utterances cannot see ("the second one", "something cheaper", "in black").

The trained intent model (service intents from Bitext + shopping intents, with out-of-scope detection)
decides what the message is about; a few high-precision patterns, in English and Chinese, recognise
references to what was shown, refinements, thanks and explicit requests for a person, which depend on
the conversation rather than on the words alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shopsense.core.language import detect_language, has_cjk

ORDER_INTENTS = {"track_order", "cancel_order", "change_order", "track_refund"}
# Answered from the FAQ, unless the message names an order: then they are about that order.
ORDER_RELATED_INTENTS = {"delivery_period", "change_shipping_address", "get_refund"}
SHOPPING_INTENTS = {"product_search", "recommendation_request"}
HUMAN_INTENTS = {"contact_human_agent", "complaint"}

_ORDINALS_EN = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3,
                "fifth": 4, "5th": 4, "last": -1}
_ORDINALS_ZH = {"一": 0, "二": 1, "两": 1, "三": 2, "四": 3, "五": 4}
_ORDINAL_EN_RE = re.compile(r"\b(?:the\s+)?(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)\b"
                            r"(?:\s+(?:one|item|option|product|toy))?|\b(?:number|no\.?|#)\s?([1-5])\b",
                            re.IGNORECASE)
_ORDINAL_ZH_RE = re.compile(r"(?:第([一二两三四五1-5])|最后)(?:个|款|件|种|项)?")
_NOT_INTERESTED_RE = re.compile(
    r"not interested|(?:do not|don't|dont) (?:like|want|need) (?:it|them|these|those|this|that|any)"
    r"|none of (?:these|them|those)|no thanks|something (?:else|different)|show me (?:others|other)"
    r"|不感兴趣|不喜欢|都不要|不要这些|不要这个|换一批|换一个|换几个|别的", re.IGNORECASE)
_CHEAPER_RE = re.compile(r"cheaper|less expensive|lower price|too expensive|too pricey|more affordable"
                         r"|便宜|太贵|实惠|价格低", re.IGNORECASE)
_THANKS_RE = re.compile(r"^\s*(?:thanks|thank you|thx|cheers|ty|many thanks|great,? thanks)\b|谢谢|多谢|感谢",
                        re.IGNORECASE)
_GREETING_RE = re.compile(r"^\s*(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening)|你好|您好|嗨|哈喽)\b",
                          re.IGNORECASE)
# Asking to be put through, not asking that someone be asked ("could you ask an agent about my invoice?" is
# an invoice question in Bitext, and in practice).
_HUMAN_RE = re.compile(
    r"\b(?:speak|talk|chat|connect|transfer|put|pass|get)\s+(?:me\s+)?(?:to|with|through\s+to)\s+(?:a|an|the|your|some)?"
    r"\s*(?:human|real\s+person|person|agent|someone|somebody|manager|representative|operator|staff)\b"
    r"|\b(?:a\s+)?(?:real|live)\s+(?:person|human|agent)\b|\bhuman\s+(?:agent|being|please)\b|^\s*(?:human|agent)\W*$"
    r"|人工|真人|转客服|找客服", re.IGNORECASE)
# Unmistakable anger or a complaint: handed to a person whatever the classifier says.
_ANGRY_RE = re.compile(
    r"\b(?:ridiculous|unacceptable|disgusting|disgraceful|appalling|furious|outraged|fed up|rip[- ]?off|scam"
    r"|worst (?:shop|store|service|company|experience)|(?:make|file|lodge|raise) a complaint|i want to complain)\b"
    r"|太差|垃圾|投诉|气死|骗子|差劲|恶心|太过分|什么破", re.IGNORECASE)
# Asking for something to buy: the catalog, not the FAQ, answers it (a safety net under the classifier,
# which has seen few shopping phrasings in some languages).
_SHOPPING_RE = re.compile(
    r"\b(?:recommend|suggest|looking for|searching for|do you (?:sell|have|stock|carry)|(?:i|we)(?:'d| would)? "
    r"(?:want|like|need) to buy|gift for|present for|show me)\b"
    r"|推荐|有没有.{1,12}(?:卖|吗|？|\?|$)|^有.{1,12}(?:卖|吗|么)|想买|要买|礼物",
    re.IGNORECASE)
# Words of a shop question rather than a product one ("it arrived broken, can I return it?").
# "I want to buy trousers" / "我想买裤子": Bitext reads "I want to buy ..." as placing an order; naming the
# thing to buy makes it a product search.
_BUY_THING_RE = re.compile(
    r"\b(?:want|like|need|looking) to (?:buy|purchase|get) (?:a |an |some |the |me )?(?P<en>[a-z][\w' -]{1,40})"
    r"|(?:想买|要买|想要|想找|买)(?:一个|一些|一台|一件|一套|一条|一双|个|些|台|件|套|条|双)?(?P<zh>[^，。？?！!、\s]{1,12})",
    re.IGNORECASE)
_NOT_A_THING = re.compile(r"^(?:something|anything|it|this|that|them|more|again|online|now|an? order|orders?"
                          r"|items?|products?|stuff|东西|商品|单|订单|的话|了)$", re.IGNORECASE)
_SERVICE_RE = re.compile(r"\b(?:return(?:s|ing)?|refunds?|deliver(?:y|ed)?|shipping|postage|broken|damaged|faulty"
                         r"|cancel\w*|exchange|warranty|invoice|pay(?:ment)?|paypal|account|password)\b"
                         r"|退货|退款|换货|运费|配送|发货|快递|坏了|损坏|付款|支付|发票|账户|密码", re.IGNORECASE)
# "what else do you have?": the same search, continued.
_MORE_RE = re.compile(r"\b(?:what else|anything else|more (?:options|ideas|of (?:them|these)|like (?:this|these|that))"
                      r"|show me more|other options|any others?|any more)\b|还有别的|还有什么|更多|其他的呢|别的呢",
                      re.I)
# Discount codes and the basket are questions about the shop, never product searches.
_DISCOUNT_RE = re.compile(r"\b(?:discount|voucher|promo(?:tion(?:al)?)?|coupon)s?(?: codes?)?\b"
                          r"|\bcodes?\b.*\b(?:off|discount)\b|优惠券|优惠码|折扣|打折|促销|代金券", re.I)
_BASKET_RE = re.compile(r"\b(?:add|put)\b.{0,40}\b(?:basket|cart|trolley|bag)\b|\b(?:my|the) (?:basket|cart)\b"
                        r"|加入购物车|加到购物车|放进购物车|购物车", re.I)
# Words of a request for something to buy, beside the constraints ("something for my 5 year old", "给孩子买").
_REQUEST_RE = re.compile(r"\b(?:for (?:a|an|my|our|the|his|her)|gifts?|presents?|toys?|something|anything|ideas?"
                         r"|under|stocking|loves?|likes?|into)\b|给.{0,10}(?:买|的)|适合|有没有|有什么|想买|玩具|礼物|喜欢",
                         re.I)
# "When will it arrive?" with no order named: about the order the conversation is about.
_ARRIVAL_RE = re.compile(r"\bwhen (?:will|does|should|is) (?:it|my order|my parcel|the parcel|that|my package)"
                         r"(?: be)? (?:arriv|deliver|get here|come|ship|dispatch)\w*"
                         r"|\bhow long (?:until|till|before) it\b"
                         r"|什么时候(?:到|送到|能到|发货)|多久(?:能)?到|几天(?:能)?到", re.I)
_ORDER_WORD_RE = re.compile(r"\border\b|\bparcel\b|\bpackage\b|\bdelivery\b|订单|包裹|快递|物流", re.IGNORECASE)


@dataclass
class Understanding:
    """One message, read: what it asks for and what it refers to."""

    text: str
    language: str
    intent: str
    confidence: float
    entities: list[Any] = field(default_factory=list)
    ordinal: int | None = None  # index into the last list shown (-1: the last one)
    cheaper: bool = False
    not_interested: bool = False
    thanks: bool = False
    greeting: bool = False
    wants_human: bool = False
    angry: bool = False
    shopping_cue: bool = False
    service_cue: bool = False
    classifier_intent: str | None = None
    more: bool = False  # "what else do you have?" after a list
    discount: bool = False
    basket: bool = False
    arrival: bool = False  # "when will it arrive?"
    constraints: Any = None  # constraints.Found: the age, budget, type and theme the message states

    def value(self, kind: str) -> Any:
        return next((e.value for e in self.entities if e.type == kind), None)

    def values(self, kind: str) -> list[Any]:
        return [e.value for e in self.entities if e.type == kind]


def _ordinal(text: str) -> int | None:
    match = _ORDINAL_EN_RE.search(text)
    if match:
        if match.group(2):
            return int(match.group(2)) - 1
        return _ORDINALS_EN[match.group(1).lower()]
    match = _ORDINAL_ZH_RE.search(text)
    if match:
        if match.group(0).startswith("最后"):
            return -1
        digit = match.group(1)
        return int(digit) - 1 if digit.isdigit() else _ORDINALS_ZH[digit]
    return None


def _colours_first(entities: list[Any]) -> list[Any]:
    """A brand named after a colour ("Black ... Balloons") must not hide the colour in "in black": to a
    shopper refining a list, a bare colour word is a colour."""
    from dataclasses import replace

    from shopsense.nlp.entity_vocab import COLOURS_EN

    colours = set(COLOURS_EN)
    return [replace(e, type="colour", value=e.text.lower()) if e.type == "brand" and e.text.lower() in colours
            else e for e in entities]


class MessageReader:
    """Reads messages with the trained intent model and the catalog-aware entity extractor."""

    def __init__(self, intent_model: Any, extractor: Any) -> None:
        self.intent_model = intent_model
        self.extractor = extractor

    def read(self, text: str, has_shown_items: bool = False) -> Understanding:
        """One message in context (``has_shown_items``: whether the last reply listed products)."""
        return self._understand(text, self.intent_model.predict_with_confidence([text])[0], has_shown_items)

    def read_many(self, texts: list[str]) -> list[Understanding]:
        """Opening messages of new conversations, classified in one batch (for evaluation)."""
        predictions = self.intent_model.predict_with_confidence(list(texts)) if texts else []
        return [self._understand(t, p, False) for t, p in zip(texts, predictions, strict=True)]

    def _understand(self, text: str, prediction: Any, has_shown_items: bool) -> Understanding:
        language = "zh" if has_cjk(text) else detect_language(text) or "en"
        language = "zh" if language.startswith("zh") else "en"
        entities = _colours_first(self.extractor.extract(text))
        found = Understanding(text=text, language=language, intent=prediction.label,
                              confidence=float(prediction.confidence), entities=entities,
                              classifier_intent=prediction.label)
        found.ordinal = _ordinal(text) if has_shown_items else None
        found.cheaper = bool(_CHEAPER_RE.search(text))
        found.not_interested = bool(_NOT_INTERESTED_RE.search(text))
        found.thanks = bool(_THANKS_RE.search(text)) and len(text.split()) <= 8
        found.greeting = bool(_GREETING_RE.search(text)) and len(re.findall(r"\w+", text)) <= 4
        found.wants_human = bool(_HUMAN_RE.search(text)) or prediction.label == "contact_human_agent"
        found.angry = bool(_ANGRY_RE.search(text))
        found.shopping_cue = bool(_SHOPPING_RE.search(text))
        found.service_cue = bool(_SERVICE_RE.search(text))
        found.more = bool(_MORE_RE.search(text)) and has_shown_items
        found.discount = bool(_DISCOUNT_RE.search(text))
        found.basket = bool(_BASKET_RE.search(text))
        found.arrival = bool(_ARRIVAL_RE.search(text))
        from shopsense.assistant.constraints import extract

        found.constraints = extract(text)
        self._resolve(found, has_shown_items)
        return found

    @staticmethod
    def _resolve(found: Understanding, has_shown_items: bool) -> None:
        """Conversation moves override the single-utterance intent where they are unambiguous."""
        refinement = bool(found.values("colour") or found.values("size") or found.values("price_range")
                          or found.cheaper or (found.constraints and found.constraints.any()))
        wants = found.constraints
        if found.wants_human:
            found.intent = "contact_human_agent"
        elif found.angry:
            found.intent = "complaint"
        elif found.value("order_id") and (_ORDER_WORD_RE.search(found.text) or found.intent in ORDER_INTENTS
                                          or found.intent in ORDER_RELATED_INTENTS):
            if found.intent not in ORDER_INTENTS:
                found.intent = "track_order"
        elif found.basket:
            found.intent = "basket"
        elif found.discount and not (wants and wants.product):
            found.intent = "discount"
        elif found.not_interested and has_shown_items and not (wants and wants.product):
            found.intent = "negative_feedback"
        elif found.more:
            found.intent = "product_search"
        elif found.ordinal is not None:
            found.intent = "product_question"
        elif has_shown_items and refinement and len(found.text.split()) <= 8:
            found.intent = "product_search"
        elif found.thanks:
            found.intent = "thanks"
        elif wants is not None and (wants.product or wants.age_months is not None or wants.child) \
                and (found.shopping_cue or wants.budget or wants.occasion or _REQUEST_RE.search(found.text)) \
                and not found.service_cue and found.intent not in ORDER_INTENTS and not found.value("order_id"):
            found.intent = "product_search"  # "我想给五岁的孩子买个礼物" is a request, whatever its first words
        elif found.greeting:
            found.intent = "greeting"
        elif found.intent == "place_order" and _names_a_thing_to_buy(found.text) and not found.service_cue:
            found.intent = "product_search"
        elif found.intent == "product_question" and not has_shown_items and found.shopping_cue \
                and not found.service_cue:  # "有裤子吗": asking whether the shop has a kind of thing
            found.intent = "product_search"
        elif (found.shopping_cue or found.values("price_range")) \
                and (found.intent == "out_of_scope" or found.confidence < 0.5) and not found.service_cue \
                and found.intent not in ORDER_INTENTS:
            found.intent = "product_search"


def _names_a_thing_to_buy(text: str) -> bool:
    match = _BUY_THING_RE.search(text)
    if not match:
        return False
    thing = (match.group("en") or match.group("zh") or "").strip()
    return bool(thing) and not _NOT_A_THING.match(thing)
