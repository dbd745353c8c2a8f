"""The built-in tasks' data: shipped utterance files, dataset builders, reference splits."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from shopsense.nlp.builtin import category, intent, sentiment
from shopsense.nlp.builtin.resources import BuiltinDataError, normalise_key, read_jsonl


# ---- intent ---------------------------------------------------------------------------------------
def test_intent_label_set_is_exact() -> None:
    df = intent.intent_dataset()
    assert set(df["label"]) == set(intent.INTENT_LABELS)
    assert len(intent.BITEXT_INTENTS) == 27 and len(intent.SHOPPING_INTENTS) == 5
    assert len(set(intent.INTENT_LABELS)) == 33
    assert set(df["lang"]) == {"en", "zh"}
    assert not df["text"].map(normalise_key).duplicated().any()


def test_shipped_bitext_is_the_full_20k_set() -> None:
    df = intent.bitext_utterances()
    assert len(df) == 21_534  # the published count
    assert set(df["label"]) == set(intent.BITEXT_INTENTS)
    counts = df["label"].value_counts()
    assert counts["payment_issue"] == 4366 and counts["cancel_order"] == 36


def test_shipped_bitext_matches_the_reference_file(shared_data: Path) -> None:
    ref = pd.read_csv(shared_data / "bitext-customer-support" / "bitext_20k_utterances_intents.csv")
    ours = intent.bitext_utterances()
    assert ours["text"].tolist() == ref["utterance"].str.strip().tolist()
    assert ours["label"].tolist() == ref["intent"].tolist()


def test_shopping_utterances_cover_each_intent_in_both_languages() -> None:
    df = intent.shopping_utterances()
    counts = Counter(zip(df["label"], df["lang"], strict=True))
    for label in intent.SHOPPING_INTENTS:
        assert counts[(label, "en")] >= 150, label
        assert counts[(label, "zh")] >= 45, label
    assert set(df["lang"][df["text"].str.contains(r"[\u4e00-\u9fff]")]) == {"zh"}


def test_chinese_bitext_utterances_cover_all_27_intents() -> None:
    df = intent.chinese_bitext_utterances()
    counts = df["label"].value_counts()
    assert set(counts.index) == set(intent.BITEXT_INTENTS)
    assert counts.min() >= 25
    assert (df["lang"] == "zh").all()
    assert df["text"].str.contains(r"[\u4e00-\u9fff]").all()
    assert "我想取消订单" in set(df.loc[df["label"] == "cancel_order", "text"])


def test_out_of_scope_sets_are_disjoint_and_held_out() -> None:
    train, heldout = intent.out_of_scope_train(), intent.out_of_scope_heldout()
    assert len(train) >= 200 and len(heldout) >= 120
    assert set(train["lang"]) == set(heldout["lang"]) == {"en", "zh"}
    train_keys, heldout_keys = set(train["text"].map(normalise_key)), set(heldout["text"].map(normalise_key))
    assert not train_keys & heldout_keys
    # the held-out set is never part of the training data, under any label
    trained = set(intent.intent_dataset()["text"].map(normalise_key))
    assert not heldout_keys & trained
    assert len(heldout_keys) == len(heldout)


def test_no_utterance_carries_two_labels() -> None:
    parts = [intent.bitext_utterances(), intent.shopping_utterances(), intent.chinese_bitext_utterances(),
             intent.out_of_scope_train(), intent.out_of_scope_heldout()]
    df = pd.concat(parts, ignore_index=True)
    labels_per_text = df.assign(key=df["text"].map(normalise_key)).groupby("key")["label"].nunique()
    assert labels_per_text.max() == 1, labels_per_text[labels_per_text > 1].index.tolist()[:5]


def test_bitext_held_out_test_is_never_trained_on() -> None:
    pool, test = intent.bitext_split()
    assert 0.08 < len(test) / (len(pool) + len(test)) < 0.12
    assert set(test["label"]) == set(intent.BITEXT_INTENTS)
    trained = intent.intent_dataset()
    assert not set(trained["text"].map(normalise_key)) & set(test["text"].map(normalise_key))
    bitext = trained[trained["source"] == "bitext"]["label"].value_counts()
    assert bitext.max() == intent.BITEXT_PER_INTENT
    assert bitext["cancel_order"] == (pool["label"] == "cancel_order").sum()  # small intents kept whole
    assert intent.intent_dataset()["text"].tolist() == trained["text"].tolist()  # seeded


def test_without_oos_leaves_out_the_out_of_scope_class() -> None:
    df = intent.intent_dataset(include_oos=False, langs=("en",))
    assert intent.OUT_OF_SCOPE not in set(df["label"]) and set(df["lang"]) == {"en"}


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "bad.jsonl:2:2: invalid JSON"),
    ('{"text": "hi", "label": "greeting"}', "bad.jsonl:2: field 'lang' must be a non-empty string"),
    ('{"text": "hi", "label": "greeting", "lang": "fr"}', "bad.jsonl:2: field 'lang' must be one of"),
    ('["hi"]', "bad.jsonl:2: expected a JSON object"),
])
def test_read_jsonl_names_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    good = json.dumps({"text": "hello", "label": "greeting", "lang": "en"})
    path.write_text(good + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(BuiltinDataError) as err:
        read_jsonl(path)
    assert message in str(err.value)
    assert str(tmp_path) in str(err.value)


# ---- sentiment ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("stars", "label"), [(1, "negative"), (2, "negative"), (3, "neutral"),
                                              (4, "positive"), (5, "positive"), (5.0, "positive"),
                                              (0, None), (6, None), (None, None), (float("nan"), None)])
def test_star_label(stars: float | None, label: str | None) -> None:
    assert sentiment.star_label(stars) == label


def test_review_text_joins_title_and_body() -> None:
    assert sentiment.review_text("Five Stars", "Works  well") == "Five Stars. Works well"
    assert sentiment.review_text("Great!", "Works well") == "Great! Works well"
    assert sentiment.review_text("Hello", "Hello world") == "Hello world"
    assert sentiment.review_text(float("nan"), "only body") == "only body"
    assert sentiment.review_text(None, None) == ""


def test_shipped_sentiment_samples() -> None:
    df = sentiment.shipped_sentiment()
    counts = Counter(zip(df["lang"], df["label"], strict=True))
    assert counts[("en", "negative")] > 600 and counts[("en", "neutral")] > 900
    assert counts[("zh", "negative")] == counts[("zh", "positive")] == 700
    assert counts[("zh", "neutral")] == 0  # the Chinese corpus is binary
    assert not df["text"].map(normalise_key).duplicated().any()


def test_shipped_sentiment_excludes_the_held_out_test_buckets(shared_data: Path) -> None:
    shipped = set(sentiment.shipped_sentiment()["text"])
    for loader in (sentiment.load_amazon_instruments, sentiment.load_clothing,
                   sentiment.load_chinese_shopping):
        pool, test = sentiment.split_reference(loader(shared_data))
        assert 0.08 < len(test) / (len(pool) + len(test)) < 0.12
        assert not shipped & set(test["text"]), loader.__name__


def test_reference_loaders_match_published_counts(shared_data: Path) -> None:
    mi = sentiment.load_amazon_instruments(shared_data)
    # 10,261 reviews; a few empty or duplicate texts are dropped
    assert 10_150 < len(mi) <= 10_261
    assert mi["label"].value_counts()["positive"] > 8 * mi["label"].value_counts()["negative"]
    zh = sentiment.load_chinese_shopping(shared_data)
    assert 55_000 < len(zh) <= 62_774 and set(zh["label"]) == {"positive", "negative"}


def test_shipped_files_rebuild_identically(shared_data: Path) -> None:
    from shopsense.nlp.builtin.build_data import main

    assert main(["--shared", str(shared_data), "--check"]) == 0


def test_workspace_sentiment_masks_pii_and_detects_chinese() -> None:
    reviews = pd.DataFrame({
        "rating": [5, 1, 3, 7],
        "text": ["Lovely toy, email me at anna.smith@example.com", "质量太差了，一天就坏了", "It's ok", "x"],
        "title": ["Great", None, "", None],
    })
    df = sentiment.workspace_sentiment(reviews)
    assert df["label"].tolist() == ["positive", "negative", "neutral"]  # 7 stars is not a rating
    assert df["lang"].tolist() == ["en", "zh", "en"]
    assert "anna.smith" not in df["text"].iloc[0] and "[EMAIL]" in df["text"].iloc[0]
    assert sentiment.workspace_sentiment(None).empty


def test_sentiment_dataset_quick_sample_keeps_every_label() -> None:
    df = sentiment.sentiment_dataset(max_rows=600)
    assert 550 <= len(df) <= 650
    assert set(df["label"]) == set(sentiment.SENTIMENT_LABELS) and set(df["lang"]) == {"en", "zh"}


# ---- category -------------------------------------------------------------------------------------
def test_path_level() -> None:
    assert category.path_level("Toys > Games > Card Games", 2) == "Toys > Games"
    assert category.path_level("Toys", 2) is None
    assert category.path_level(None, 1) is None


def test_choose_level_prefers_the_deepest_well_populated_level() -> None:
    deep = pd.Series(["A > x"] * 20 + ["A > y"] * 20 + ["B > z"] * 20 + ["B > w"] * 20)
    assert category.choose_level(deep, min_per_class=15) == 2
    sparse = pd.Series([f"A > {i}" for i in range(40)] + [f"B > {i}" for i in range(40)] + ["C"] * 40)
    assert category.choose_level(sparse, min_per_class=15) == 1


def test_category_dataset_on_the_demo_catalog() -> None:
    from importlib import resources

    items = pd.read_csv(Path(str(resources.files("shopsense.data") / "demo_store" / "items.csv")))
    df = category.category_dataset(items)
    assert df.attrs["level"] == 1  # second-level categories hold at most 10 products each
    counts = df["label"].value_counts()
    assert counts.min() >= 15 and category.OTHER in counts.index
    assert {"Games", "Jigsaws & Puzzles", "Arts & Crafts"} <= set(counts.index)
    assert len(df) > 800 and df["text"].str.len().max() <= category.MAX_CHARS


def test_category_dataset_requires_title_and_category() -> None:
    with pytest.raises(ValueError, match="column 'category'"):
        category.category_dataset(pd.DataFrame({"title": ["x"]}))
