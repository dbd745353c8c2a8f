"""The opinion index of the demo store: synonym merging, aggregates, trends, summaries with quotes, caching."""

from __future__ import annotations

import pandas as pd
import pytest

from shopsense.marketing.aspects import POLARITIES, AspectMerger, LexiconSentiment, OpinionIndex, build_opinions


def test_merger_joins_spelling_variants_and_keeps_distinct_aspects_apart() -> None:
    terms = ["colour"] * 5 + ["color"] * 2 + ["instruction"] * 4 + ["instruction manual"] + ["price"] * 6 + ["box"] * 3
    merger = AspectMerger().fit(terms)
    assert merger.transform(["color", "instruction manual", "box", "price"]) == ["colour", "instruction", "box",
                                                                                   "price"]
    assert merger.groups_["colour"] == ["colour", "color"]  # the commonest wording names the aspect
    assert merger.get_params()["threshold"] == pytest.approx(0.78)


def test_index_counts_are_consistent(opinions: OpinionIndex) -> None:
    m = opinions.mentions
    assert len(m) > 1000 and set(m["polarity"]) <= set(POLARITIES)
    assert m["review_id"].nunique() > 500
    table = opinions.aspect_table()
    assert (table[list(POLARITIES)].sum(axis=1) == table["mentions"]).all()
    assert table["mentions"].sum() == len(m)
    assert table["mentions"].is_monotonic_decreasing
    assert "quality" in set(table["aspect"].head(10))  # toys reviewers talk about quality most
    assert not {"son", "daughter", "christmas", "toy"} & set(table["aspect"])  # people/occasions are not aspects


def test_group_tables_and_selection(opinions: OpinionIndex) -> None:
    by_brand = opinions.aspect_table(by="brand", min_mentions=3)
    assert {"brand", "aspect", "negative_share"} <= set(by_brand.columns) and (by_brand["mentions"] >= 3).all()
    brand = by_brand["brand"].iloc[0]
    assert opinions.aspect_table(brand=brand)["mentions"].sum() == (opinions.mentions["brand"] == brand).sum()
    top_category = opinions.mentions["category"].str.split(" > ").str[0].mode()[0]
    sub = opinions.select(category=top_category)
    assert len(sub) and sub["category"].str.startswith(top_category).all()
    with pytest.raises(ValueError, match="by must be one of"):
        opinions.aspect_table(by="colour")


def test_trend_adds_up_to_the_mentions(opinions: OpinionIndex) -> None:
    trend = opinions.trend(freq="Q", top=3)
    aspects = list(opinions.mentions["aspect"].value_counts().head(3).index)
    assert set(trend["aspect"]) == set(aspects)
    dated = opinions.mentions[opinions.mentions["timestamp"].notna() & opinions.mentions["aspect"].isin(aspects)]
    assert trend["mentions"].sum() == len(dated)
    assert ((trend["negative_share"] >= 0) & (trend["negative_share"] <= 1)).all()


def test_item_summary_quotes_mention_the_aspect(opinions: OpinionIndex) -> None:
    item = opinions.mentions["item_id"].value_counts().index[0]
    summary = opinions.summary(item_id=item, top=3)
    assert summary["reviews"] == opinions.select(item_id=item)["review_id"].nunique()
    assert summary["praised"]
    for row in summary["praised"] + summary["criticised"]:
        assert row["quotes"], row
        for quote in row["quotes"]:
            assert any(term.split()[-1][:4] in quote.lower() for term in row["terms"]), (row["aspect"], quote)
    for row in summary["criticised"]:
        assert row["negative"] > 0


def test_clauses_score_aspects_separately_and_quotes_are_masked() -> None:
    reviews = pd.DataFrame({
        "review_id": ["r1", "r2"], "user_id": ["u1", "u2"], "item_id": ["i1", "i1"], "rating": [3, 1],
        "title": ["", "Broken"],
        "text": ["The colours are wonderful but the instructions are useless and confusing.",
                 "The wheels snapped off in a day, terrible quality. "
                 "Email me at jane.doe@example.com about the wheels."],
        "timestamp": pd.to_datetime(["2015-01-01", "2015-02-01"], utc=True)})
    index = build_opinions(reviews, None, LexiconSentiment())
    polarity = dict(zip(index.mentions["term"], index.mentions["polarity"], strict=False))
    assert polarity["colour"] == "positive" and polarity["instruction"] == "negative"
    quotes = [q for row in index.summary()["criticised"] for q in row["quotes"]]
    assert quotes and not any("jane.doe@example.com" in q for q in quotes)
    assert index.model == "LexiconSentiment"


def test_empty_reviews_give_an_empty_index() -> None:
    reviews = pd.DataFrame({"review_id": ["r"], "user_id": ["u"], "item_id": ["i"], "rating": [5], "title": [""],
                            "text": ["Five stars!"], "timestamp": [pd.NaT]})
    index = build_opinions(reviews, None, LexiconSentiment())
    assert index.mentions.empty and index.summary()["praised"] == [] and index.trend().empty


def test_workspace_index_is_cached(marketing_workspace, opinions: OpinionIndex) -> None:
    from shopsense.serving.workspace import Workspace

    with Workspace(marketing_workspace) as workspace:
        first = workspace.opinions.load()
        assert workspace.opinions.load() is first  # in memory once loaded
    assert first.mentions.equals(opinions.mentions)  # read back from the disk cache, not rebuilt
    assert opinions.model.startswith("sentiment@")  # scored by the workspace's fine-tuned sentiment task
    folders = list((marketing_workspace.cache_dir / "opinions").glob("*/mentions.parquet"))
    assert folders


def test_chinese_reviews_get_aspects_scored_per_clause(marketing_workspace) -> None:
    from shopsense.marketing.opinion_store import sentiment_for

    reviews = pd.DataFrame({
        "review_id": ["z1", "z2"], "user_id": "u", "item_id": "i", "rating": [4, 2], "title": "",
        "text": ["质量很好，但是包装太差了。", "物流很慢，不过做工不错。"],
        "timestamp": pd.to_datetime(["2015-01-01", "2015-02-01"], utc=True)})
    sentiment, name = sentiment_for(marketing_workspace)
    index = build_opinions(reviews, None, sentiment, model_name=name)
    got = dict(zip(index.mentions["aspect"], index.mentions["polarity"], strict=True))
    assert set(got) == {"质量", "包装", "物流", "做工"}  # distinct aspects stay apart
    assert got["质量"] == "positive" and got["包装"] == "negative" and set(index.mentions["lang"]) == {"zh"}
