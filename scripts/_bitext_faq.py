"""Turn Bitext customer-support answers into one store's FAQ and policy pages ("ToyNest").

Used by ``build_demo_store.py`` only. Bitext's agent responses are generic and carry ``{{placeholders}}``
("{{Order History}}", "{{Customer Support Phone Number}}"). For each intent we keep one answer: among
the intent's responses that mention no customer-specific value, whose placeholders we can all fill from
:data:`STORE_FACTS`, we rank by closeness to the intent's centroid (TF-IDF) plus a bonus for numbered steps,
and take the pick named in :data:`PICKS` (an editor read the ranked list; the pick is checked, not trusted).
Opening pleasantries that echo the customer's wording ("I understand that you would like to ...") are cut.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from _faq_zh import DISCOUNT_EN, FAQ_ZH, POLICY_ZH
from sklearn.feature_extraction.text import TfidfVectorizer

BITEXT_FILE = "bitext-customer-support/bitext_customer_support_training_4.5k.csv"
EXPECTED_ROWS = 4514

# Every fact the FAQ and policies state about the store. Phone numbers and e-mail addresses are left out on
# purpose: contact details point at the Contact page (a number in the data would be masked as PII anyway).
STORE_FACTS: dict[str, str] = {
    "store": "ToyNest",
    "website": "the ToyNest website",
    "url": "https://toynest.example",
    "country": "the United Kingdom",
    "currency": "GBP",
    "hours": "Monday to Friday, 9am to 6pm UK time (Saturday 10am to 4pm)",
    "phone": "our customer service line (the number is on our Contact page)",
    "contact_page": "Contact page",
    "live_chat": "Live Chat",
    "returns_days": "30",
    "refund_days": "5 working days",
    "standard_delivery": "Standard delivery (3 to 5 working days, free on orders of £30 or more, "
                         "otherwise £3.99)",
    "express_delivery": "Express delivery (next working day when ordered before 2pm, £6.99)",
    "dispatch": "Orders placed before 2pm on a working day are dispatched the same day.",
    "payments": "Visa, Mastercard, American Express, PayPal, Apple Pay, Google Pay and ToyNest gift cards",
    "return_postage": "£2.95",
    "not_returnable": "opened jigsaws and games with missing pieces, personalised items, and party "
                      "supplies whose seal is broken, unless they are faulty",
    "trace_after": "3 working days",
}

# Placeholder -> text. Names of pages and buttons become the names used on ToyNest's own pages.
_UI = {
    "orders": "Your Orders", "account": "Your Account", "settings": "Account settings",
    "addresses": "Addresses",
    "payments": "Payment methods", "returns": "Returns & refunds", "track": "Track your order",
    "invoices": "Invoices", "help": "Help centre", "newsletter": "Newsletter preferences",
}
FILL: dict[str, str] = {
    "Website Name": STORE_FACTS["website"], "Website URL": STORE_FACTS["url"],
    "website": STORE_FACTS["website"],
    "Website": STORE_FACTS["website"], "Company Name": STORE_FACTS["store"],
    "Customer Support Phone Number": STORE_FACTS["phone"],
    "Customer Service Phone Number": STORE_FACTS["phone"],
    "Live Chat": STORE_FACTS["live_chat"], "Customer Support Availability": STORE_FACTS["hours"],
    "Customer Support Hours": STORE_FACTS["hours"], "Customer Service Hours": STORE_FACTS["hours"],
    "Contact Us": STORE_FACTS["contact_page"], "Contact Page": STORE_FACTS["contact_page"],
    "Order History": _UI["orders"], "My Orders": _UI["orders"], "Order Details": _UI["orders"],
    "Purchase History": _UI["orders"], "Order Status": _UI["track"], "Order Tracking": _UI["track"],
    "Track Order": _UI["track"], "Track My Order": _UI["track"], "Account Settings": _UI["settings"],
    "My Account": _UI["account"], "Account": _UI["account"], "Profile": _UI["account"],
    "Account Details": _UI["settings"], "Account Information": _UI["settings"],
    "Shipping Address": _UI["addresses"], "Delivery Address": _UI["addresses"],
    "Add New Address": "Add a new address", "Payment Methods": _UI["payments"],
    "Payment Options": _UI["payments"], "Refunds": _UI["returns"], "Returns": _UI["returns"],
    "Refund Request": _UI["returns"], "Refund Policy": "Returns policy", "Invoices": _UI["invoices"],
    "Invoice History": _UI["invoices"], "Billing": _UI["invoices"], "Help": _UI["help"],
    "Support": _UI["help"],
    "Checkout": "Checkout", "Cancel Order": "Cancel order", "Edit Order": "Change order",
    "Modify Order": "Change order", "Newsletter Subscription": _UI["newsletter"], "Edit": "Edit",
    "Save": "Save",
    "Submit": "Submit", "Write a Review": "Write a review", "Leave a Review": "Write a review",
    "Delivery Options": "Delivery options", "Shipping Options": "Delivery options",
    "Invoice": _UI["invoices"],
    "Invoice/Billing": _UI["invoices"], "View Bills": _UI["invoices"], "Download": "Download",
    "Add Item": "Add item", "Add Items": "Add item", "Support Phone Number": STORE_FACTS["phone"],
    "Account Recovery": "Forgotten password", "Forgot Password": "Forgotten password",
}
# UI names that Bitext sometimes writes in plain or quoted text instead of a placeholder.
_PLAIN_UI = sorted((name for name in FILL if len(name.split()) >= 2 and not name.startswith(
    ("Customer", "Website", "Live", "Support", "Company"))), key=len, reverse=True)
_PLAIN_UI_RE = re.compile(r'(?<![\w{])"?(' + "|".join(re.escape(n) for n in _PLAIN_UI) + r')"?(?![\w}])')
# Local wording: a UK shop, and a support team that keeps office hours.
_LOCALISE = [(re.compile(r"\b[Zz][Ii][Pp] code\b"), "postcode"), (re.compile(r", state,"), ","),
             (re.compile(r"products?/services?|products? or services?"), "product"),
             (re.compile(r"\b(?:consumer |customer )?reclamation\b"), "complaint"),
             (re.compile(r"\bpayment modalities\b"), "payment methods"),
             (re.compile(r"\breimbursement\b"), "refund"),
             (re.compile(r"\{\{Website Name\}\} account"), "ToyNest account"),
             (re.compile(r"\bour \{\{Website Name\}\}"), "our website"),
             (re.compile(r"our website, \{\{Website Name\}\}"), "our website")]
# Phone phrasing left clumsy after filling ("via phone through our customer service line").
_PHONE_TIDY = re.compile(
    r"\b(?:via (?:tele)?phone|by phone|(?:our )?(?:dedicated )?(?:helpline|hotline)"
    r"|calling our customer support hotline|via live chat or helpline) (through our customer service line)")
# Claims that contradict STORE_FACTS (support hours, free phone line): such an answer is not used.
_CONTRADICTS = re.compile(
    r"24/7|round[- ]the[- ]clock|24 hours|toll-free|any time of|@|\.com\b|mobile app|\bapp\b|corporate"
    r"|\b(?:Gold|Platinum|Freemium|Premium|Pro|Free|Standard|Basic|Business|Personal)"
    r" (?:account|profile|plan)"
    r"|phone number,|anytime|any time", re.IGNORECASE)
_ORDER_NUMBER_RE = re.compile(
    r"\s*(?:,\s*)?(?:with |labeled |labelled |numbered )?(?:the )?(?:order |purchase )?"
    r"(?:number |ID )?\{\{Order Number Anonymized\}\},?")

# Phone placeholders read badly after "at"/"call"; rewrite the phrase around them first.
_PHONE = r"\{\{(?:Customer Support|Customer Service) Phone Number\}\}"
_LINE = "our customer service line (the number is on our Contact page)"
_PHONE_PHRASES = [
    (re.compile(rf"(?:our |the )?(?:toll-free number|customer support hotline|dedicated customer service "
                rf"line),? {_PHONE},?"), _LINE),
    (re.compile(rf"\bby phone at {_PHONE}"), "by phone (the number is on our Contact page)"),
    (re.compile(rf"\b(?:by )?calling (?:us at )?{_PHONE}"), "by calling " + _LINE),
    (re.compile(rf"\b(?:at|on|via) {_PHONE}"), "through " + _LINE),
    (re.compile(rf"\bthrough our {_PHONE}"), "through " + _LINE),
]
_PLACEHOLDER_RE = re.compile(r"\{\{([^{}]*)\}\}")
_BRACKET_RE = re.compile(r"\[[A-Z][A-Za-z ]+\]")  # "[Customer Support Phone Number]": an unfilled slot too
_ECHO_RE = re.compile(
    r"^(?:I understand|I'm here|I am here|Allow me|Let me|Certainly|Of course|Absolutely|Sure|Thank you for"
    r"|It appears|It seems|You are not alone|Don't worry|Not to worry|Rest assured|No problem|I apologi[sz]e"
    r"|I'm sorry|We're happy|We are happy|I'm glad|I'd be|I would be|Thanks for|Great|Ah,|Oh,|We appreciate"
    r"|I appreciate|I can definitely|I can assist|I can help|I can guide|I'll be|I will be"
    r"|If you (?:want|would like|wish|need) to [^.!?:]*, I|Here's how|Here is how|I'm excited|I'm delighted)"
    r"[^!?:]*(?:[.!?:]|$)")
_DUPLICATE_OR_RE = re.compile(r"([\"']?)([A-Z][\w &]+)\1 (?:or|and) \1\2\1")

# intent -> (question written for the store, Bitext row of the chosen answer). The rows were chosen by reading
# the ranked candidates; build_faq checks each is still a candidate. Left out: check_cancellation_fee (its
# answers are about contract termination fees, which a toy shop does not charge).
PICKS: dict[str, tuple[str, int]] = {
    "cancel_order": ("How do I cancel an order?", 134),
    "change_order": ("Can I change an order I have already placed?", 188),
    "change_shipping_address": ("How do I change my delivery address?", 367),
    "set_up_shipping_address": ("How do I add a new delivery address?", 3885),
    "check_invoice": ("Where can I see my invoices?", 730),
    "get_invoice": ("How do I get a copy of my invoice?", 2549),
    "check_payment_methods": ("Which payment methods do you accept?", 874),
    "payment_issue": ("I have a problem with a payment. What should I do?", 3058),
    "check_refund_policy": ("What is your returns and refund policy?", 1086),
    "get_refund": ("How do I return an item and get a refund?", 2716),
    "track_refund": ("How can I check the status of my refund?", 4460),
    "complaint": ("How do I make a complaint?", 1183),
    "contact_customer_service": ("When and how can I contact customer service?", 1319),
    "contact_human_agent": ("Can I speak to a person?", 1472),
    "create_account": ("How do I create an account?", 1627),
    "delete_account": ("How do I delete my account?", 1857),
    "edit_account": ("How do I update my account details?", 2381),
    "switch_account": ("How do I sign in with a different account?", 4079),
    "recover_password": ("I forgot my password. How do I reset it?", 3370),
    "registration_problems": ("I can't register. How do I report the problem?", 3568),
    "delivery_options": ("What delivery options do you offer?", 2045),
    "delivery_period": ("How long will my delivery take?", 2171),
    "track_order": ("How do I track my order?", 4263),
    "place_order": ("How do I place an order?", 3238),
    "newsletter_subscription": ("How do I subscribe to the newsletter?", 3012),
    "review": ("How do I write a review of a product?", 3753),
}
CATEGORY_NAMES = {
    "ORDER": "Orders", "DELIVERY": "Delivery", "SHIPPING_ADDRESS": "Delivery", "REFUND": "Returns & refunds",
    "PAYMENT": "Payments", "INVOICE": "Payments", "ACCOUNT": "Account", "CONTACT": "Contact",
    "FEEDBACK": "Feedback", "NEWSLETTER": "Account", "CANCELLATION_FEE": "Orders",
}
F = STORE_FACTS
RETURNS_RULE = (f"You can return most items within {F['returns_days']} days of delivery if they are unused "
                f"and in their original packaging; faulty, damaged or wrong items can always be returned "
                f"free of charge.")
REFUND_RULE = (f"Refunds go back to the original payment method within {F['refund_days']} of the return "
               f"reaching us (your bank may take a few more days to show it).")
CANCEL_RULE = ("Orders can be cancelled or changed free of charge until they are dispatched; after that, "
               "please return the item instead.")
DELIVERY_RULE = (f"We deliver within {F['country']}: {F['standard_delivery']} or {F['express_delivery']}. "
                 f"{F['dispatch']}")
# Store facts appended to an answer ("At ToyNest: ..."), so that the FAQ states the same rules as policies/.
ADDENDA: dict[str, str] = {
    "cancel_order": CANCEL_RULE, "change_order": CANCEL_RULE,
    "check_payment_methods": f"We accept {F['payments']}. All prices are in pounds sterling "
                             f"({F['currency']}).",
    "check_refund_policy": RETURNS_RULE + " " + REFUND_RULE,
    "get_refund": RETURNS_RULE + " " + REFUND_RULE,
    "track_refund": REFUND_RULE,
    "delivery_options": DELIVERY_RULE, "delivery_period": DELIVERY_RULE,
    "track_order": "An order is Processing until it leaves our warehouse, then Shipped (with a tracking "
                   "link in your e-mail), then Delivered.",
}


def _fill(response: str) -> str | None:
    """Fill every placeholder from STORE_FACTS; None when one cannot be filled (the answer is skipped)."""
    text = re.sub(r"\[(Customer Support Phone Number|Live Chat)\]", r"{{\1}}", response)
    if _CONTRADICTS.search(text):
        return None
    text = _ORDER_NUMBER_RE.sub("", text)
    for pattern, replacement in _LOCALISE + _PHONE_PHRASES:
        text = pattern.sub(replacement, text)
    missing = [name for name in _PLACEHOLDER_RE.findall(text) if name not in FILL]
    if missing or _BRACKET_RE.search(text):
        return None
    text = _PLACEHOLDER_RE.sub(lambda m: FILL[m.group(1)], text)
    text = _PLAIN_UI_RE.sub(lambda m: FILL[m.group(1)], text)
    text = _DUPLICATE_OR_RE.sub(lambda m: m.group(1) + m.group(2) + m.group(1), text)
    text = re.sub(r"\b(page|section|our) \1\b", r"\1", text)
    text = _PHONE_TIDY.sub(r"\1", text)
    return text


def _trim_echo(text: str) -> str:
    """Drop opening sentences that only echo the request or say "let me help"; the steps stay."""
    paragraphs = [p for p in text.strip().split("\n")]
    sentences = re.split(r"(?<=[.!?:])\s+", paragraphs[0].strip())
    kept = [sentence for sentence in sentences if not _ECHO_RE.match(sentence)]
    if kept == sentences:
        return text.strip()
    rest = "\n".join(paragraphs[1:]).strip()
    if kept:
        head = " ".join(kept)
        head = head[:1].upper() + head[1:]
    elif sentences[-1].endswith(":"):
        head = "Follow these steps:" if re.match(r"\d\.", rest) else ""
    else:
        head = ""
    return re.sub(r"\n{3,}", "\n\n", (head + "\n\n" + rest) if head else rest).strip()


def load_bitext(source: Path) -> pd.DataFrame:
    path = source / BITEXT_FILE
    if not path.exists():
        raise SystemExit(f"error: {path} not found (pass --source, the folder holding "
                         f"bitext-customer-support/)")
    frame = pd.read_csv(path)
    if len(frame) != EXPECTED_ROWS:
        raise SystemExit(f"error: {path}: expected {EXPECTED_ROWS} rows, got {len(frame)}")
    return frame


def candidates(frame: pd.DataFrame, intent: str) -> pd.DataFrame:
    """The intent's usable answers, best first, with the filled and trimmed text in column ``answer``."""
    sub = frame[frame["intent"] == intent]
    vectors = TfidfVectorizer(sublinear_tf=True).fit_transform(sub["response"])
    centrality = np.asarray(vectors @ np.asarray(vectors.mean(axis=0)).ravel()).ravel()
    steps = sub["response"].str.count(r"\n\s*\d\.").clip(upper=6).to_numpy()
    sub = sub.assign(score=centrality + 0.02 * steps)
    # Answers echoing the customer's own values (an order number, a city, an amount) are not general.
    pairs = zip(sub["entity_value"], sub["response"], strict=True)
    echoes = [isinstance(value, str) and value.lower() in response.lower() for value, response in pairs]
    usable = ~np.array(echoes, dtype=bool) & ~sub["response"].str.contains(r"[$€£]|\d{3,}").to_numpy()
    sub = sub[usable & (sub["response"].str.len() < 1400).to_numpy()]
    answers = sub["response"].map(_fill)
    sub = sub.assign(answer=answers.map(lambda a: _trim_echo(a) if a else None)).dropna(subset=["answer"])
    return sub.sort_values(["score", "response"], ascending=[False, True], kind="stable")


def _alt_questions(frame: pd.DataFrame, intent: str, limit: int = 3) -> str:
    """The intent's most typical real customer phrasings (plain register, no typos, no customer values)."""
    sub = frame[(frame["intent"] == intent) & frame["entity_type"].isna()
                & ~frame["tags"].fillna("").str.contains("[QZWK]")]
    sub = sub[~sub["instruction"].str.contains(r"[\d$€£]") & sub["instruction"].str.len().between(12, 90)]
    if sub.empty:
        return ""
    vectors = TfidfVectorizer(sublinear_tf=True).fit_transform(sub["instruction"])
    centrality = np.asarray(vectors @ np.asarray(vectors.mean(axis=0)).ravel()).ravel()
    ranked = sub.assign(score=centrality).sort_values(["score", "instruction"], ascending=[False, True])
    phrasings: list[str] = []
    for question in ranked["instruction"].str.strip():
        if question.lower() not in {p.lower() for p in phrasings}:
            phrasings.append(question)
        if len(phrasings) == limit:
            break
    return " | ".join(phrasings)


def build_faq(frame: pd.DataFrame) -> pd.DataFrame:
    """One FAQ entry per intent in PICKS: the store's question, the chosen Bitext answer, store facts."""
    rows = []
    for number, (intent, (question, row)) in enumerate(sorted(PICKS.items()), start=1):
        pool = candidates(frame, intent)
        if row not in pool.index:
            raise SystemExit(f"error: {BITEXT_FILE}: row {row} is no longer a usable answer for "
                             f"intent {intent!r}")
        answer = pool.loc[row, "answer"]
        if intent in ADDENDA:
            answer += f"\n\nAt {STORE_FACTS['store']}: {ADDENDA[intent]}"
        if "{{" in answer or "}}" in answer:
            raise SystemExit(f"error: intent {intent!r}: a placeholder survived filling: {answer!r}")
        rows.append({
            "faq_id": f"faq-{number:03d}", "question": question, "answer": answer,
            "category": CATEGORY_NAMES[pool.loc[row, "category"]],
            "source": f"bitext-customer-support/{intent}", "bitext_row": row,
            "alt_questions": _alt_questions(frame, intent),
        })
    for number, intent in enumerate(sorted(PICKS), start=1):  # the Chinese version of each (issue 15)
        question, answer = FAQ_ZH[intent]
        rows.append({"faq_id": f"faq-{number:03d}-zh", "question": question, "answer": answer,
                     "category": rows[number - 1]["category"], "source": f"bitext-customer-support/{intent}_zh",
                     "bitext_row": rows[number - 1]["bitext_row"], "alt_questions": ""})  # its English twin
    return pd.DataFrame(rows)


def policy_pages() -> dict[str, str]:
    """The four policy pages, written from STORE_FACTS only (so they agree with the FAQ addenda), each followed by
    its Chinese section."""
    pages = _english_policy_pages()
    return {name: f"{text}\n{POLICY_ZH[name]}" for name, text in pages.items()}


def _english_policy_pages() -> dict[str, str]:
    store, f = STORE_FACTS["store"], STORE_FACTS
    return {
        "returns.md": f"""# Returns and refunds

{RETURNS_RULE}

- **How to return:** sign in, open {_UI['orders']}, choose the order and select {_UI['returns']}. Print the
  returns label and drop the parcel at any post office.
- **Return postage:** free for faulty, damaged or wrong items; otherwise {f['return_postage']} is taken
  from the refund.
- {REFUND_RULE}
- **Not returnable:** {f['not_returnable']}.
- **Cancelling:** {CANCEL_RULE}

Questions? Use {f['live_chat']} or {f['phone']}, {f['hours']}.
""",
        "shipping.md": f"""# Delivery

{store} delivers to addresses in {f['country']}.

- {f['standard_delivery']}.
- {f['express_delivery']}.
- {f['dispatch']}
- You can follow every parcel from {_UI['orders']} > {_UI['track']}; we also e-mail the tracking link when
  the order ships. Order statuses: Processing, Shipped, Delivered (or Cancelled).
- You can change the delivery address until the order is dispatched ({_UI['settings']} > {_UI['addresses']}).

If a parcel has not arrived {f['trace_after']} after its expected date, contact us and we will trace it or
send a replacement.
""",
        "payments.md": f"""# Payments

- We accept {f['payments']}.
- Prices are in pounds sterling ({f['currency']}) and include VAT.
- Your card is charged when the order is placed; if an order is cancelled before dispatch, the full
  amount is refunded.
- Invoices for every order are in {_UI['account']} > {_UI['invoices']}.
{DISCOUNT_EN}- {store} never asks for your card details by e-mail or phone. If a payment fails or you see a charge
  you do not recognise, contact us through {f['live_chat']} or {f['phone']}.
""",
        "privacy.md": f"""# Privacy

{store} keeps only what it needs to run the shop: your account details, delivery addresses, orders and the
reviews you choose to publish.

- **Recommendations:** we suggest products from what you browse, buy and review on {f['website']}. The
  recommendation and search models see a pseudonymous customer number, never your name, e-mail address,
  phone number or address; personal details are masked before any text is indexed or used for training.
- **Reviews:** your review is published with the display name you choose.
- **Your rights:** you can download or delete your data at any time from {_UI['settings']}, or ask us
  through the {f['contact_page']}. We answer within one month, as UK data-protection law requires.
- **Sharing:** we share delivery details with the courier and payment details with the payment provider,
  only to complete your order. We never sell personal data.
""",
    }
