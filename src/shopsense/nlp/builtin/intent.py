"""The built-in ``intent`` task's data: Bitext customer-service intents, shopping intents, out-of-scope.

Labels (33): the 27 Bitext intents under their own names, the 5 shopping intents the assistant needs
(:data:`SHOPPING_INTENTS`) and :data:`OUT_OF_SCOPE`. Sources, all shipped in ``shopsense/nlp/data``:

- ``bitext_intents.csv.gz``: the Bitext 20k customer-service utterances (English, CDLA-Sharing-1.0).
  One utterance in ten (by hash) is held out for testing (:func:`bitext_test`) and the rest is capped
  at :data:`BITEXT_PER_INTENT` per intent: Bitext is so redundant that 200-400 per intent scored
  0.996-0.998 on the held-out test against 0.998 for all of them, at a third of the encoding time.
- ``shopping_intents.jsonl``: hand-written English and Chinese utterances for the shopping intents.
- ``intents_zh.jsonl``: hand-written Chinese utterances for the 27 Bitext intents.
- ``out_of_scope_train.jsonl``: off-topic messages (weather, sports, code, politics, recipes, ...),
  trained as the ``out_of_scope`` class.
- ``out_of_scope_heldout.jsonl``: a separate off-topic set on other topics, for evaluation only; it is
  never returned by :func:`intent_dataset`.
"""

from __future__ import annotations

import pandas as pd

from shopsense.nlp.builtin.resources import (
    BuiltinDataError,
    cap_per_label,
    data_path,
    drop_duplicate_texts,
    in_test_bucket,
    read_jsonl,
)

BITEXT_INTENTS: tuple[str, ...] = (
    "cancel_order", "change_order", "change_shipping_address", "check_cancellation_fee", "check_invoices",
    "check_payment_methods", "check_refund_policy", "complaint", "contact_customer_service",
    "contact_human_agent", "create_account", "delete_account", "delivery_options", "delivery_period",
    "edit_account", "get_invoice", "get_refund", "newsletter_subscription", "payment_issue", "place_order",
    "recover_password", "registration_problems", "review", "set_up_shipping_address", "switch_account",
    "track_order", "track_refund",
)
SHOPPING_INTENTS: tuple[str, ...] = (
    "product_search", "recommendation_request", "product_question", "negative_feedback", "greeting",
)
OUT_OF_SCOPE = "out_of_scope"
INTENT_LABELS: tuple[str, ...] = BITEXT_INTENTS + SHOPPING_INTENTS + (OUT_OF_SCOPE,)
COLUMNS = ["text", "label", "lang", "source"]
BITEXT_PER_INTENT = 250


def bitext_utterances() -> pd.DataFrame:
    """The 21,534 Bitext utterances as ``text, label, lang, source`` (duplicates kept)."""
    path = data_path("bitext_intents.csv.gz")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"utterance", "intent"} - set(raw.columns)
    if missing:
        raise BuiltinDataError(f"{path}: missing column(s) {sorted(missing)}")
    unknown = sorted(set(raw["intent"]) - set(BITEXT_INTENTS))
    if unknown:
        # Row numbers count the header as line 1, like an editor does.
        line = int(raw.index[raw["intent"] == unknown[0]][0]) + 2
        raise BuiltinDataError(f"{path}:{line}: field 'intent' has unknown intent {unknown[0]!r}")
    df = pd.DataFrame({"text": raw["utterance"].str.strip(), "label": raw["intent"], "lang": "en",
                       "source": "bitext"})
    return df[df["text"] != ""].reset_index(drop=True)


def _jsonl(name: str, source: str, allowed: tuple[str, ...]) -> pd.DataFrame:
    path = data_path(name)
    df = read_jsonl(path)
    bad = ~df["label"].isin(allowed)
    if bad.any():
        raise BuiltinDataError(f"{path}: unknown label {df.loc[bad, 'label'].iloc[0]!r} "
                               f"(expected one of {', '.join(allowed)})")
    return df.assign(source=source)[COLUMNS]


def shopping_utterances() -> pd.DataFrame:
    """English and Chinese utterances for the five shopping intents."""
    return _jsonl("shopping_intents.jsonl", "shopping", SHOPPING_INTENTS)


def chinese_bitext_utterances() -> pd.DataFrame:
    """Chinese utterances for the 27 Bitext intents (e.g. 我想取消订单 -> cancel_order)."""
    return _jsonl("intents_zh.jsonl", "zh_bitext", BITEXT_INTENTS)


def out_of_scope_train() -> pd.DataFrame:
    """Off-topic messages trained as the ``out_of_scope`` class (English and Chinese)."""
    return _jsonl("out_of_scope_train.jsonl", "oos_train", (OUT_OF_SCOPE,))


def out_of_scope_heldout() -> pd.DataFrame:
    """Off-topic messages for evaluation only: never trained on, never used for calibration."""
    return _jsonl("out_of_scope_heldout.jsonl", "oos_heldout", (OUT_OF_SCOPE,))


def bitext_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train pool, held-out test)`` of the de-duplicated Bitext utterances (test: one in ten by hash)."""
    df = drop_duplicate_texts(bitext_utterances())
    test = df["text"].map(in_test_bucket).to_numpy()
    return df[~test].reset_index(drop=True), df[test].reset_index(drop=True)


def bitext_test() -> pd.DataFrame:
    """The Bitext utterances never used for training: the benchmark's held-out test set."""
    return bitext_split()[1]


def intent_dataset(langs: tuple[str, ...] = ("en", "zh"), include_oos: bool = True,
                   bitext_per_intent: int | None = BITEXT_PER_INTENT, seed: int = 42) -> pd.DataFrame:
    """All intent training data as ``text, label, lang, source``, duplicates (after folding case,
    width and spacing) removed so that no utterance can sit in both a train and a test split.

    Bitext comes from its train pool (:func:`bitext_split`), at most ``bitext_per_intent`` per intent
    (seeded; None keeps all). ``include_oos=False`` leaves out the ``out_of_scope`` class (the
    benchmark's "no out-of-scope mechanism" arm).
    """
    bitext, _ = bitext_split()
    if bitext_per_intent is not None:
        bitext = cap_per_label(bitext, bitext_per_intent, seed)
    parts = [bitext, shopping_utterances(), chinese_bitext_utterances()]
    if include_oos:
        parts.append(out_of_scope_train())
    df = pd.concat(parts, ignore_index=True)
    df = df[df["lang"].isin(langs)]
    return drop_duplicate_texts(df)
