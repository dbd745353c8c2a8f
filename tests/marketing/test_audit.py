"""Description audit on the demo catalog: uncovered review aspects, missing attributes, readability, rewrite,
and the ranking of the items that would gain most."""

from __future__ import annotations

import pytest

from shopsense.core.store import Store
from shopsense.marketing.audit import DescriptionAuditor, readability
from shopsense.marketing.opinion_text import mentions_term


@pytest.fixture(scope="module")
def auditor(marketing_workspace, opinions) -> DescriptionAuditor:
    with Store.from_settings(marketing_workspace) as store:
        items = store.load().items
    return DescriptionAuditor(cache_dir=str(marketing_workspace.cache_dir)).fit(items, opinions)


def test_readability_orders_plain_and_dense_text() -> None:
    plain = readability("The car is red. It is fun. Kids like it a lot.")
    dense = readability("Incorporating sophisticated electromechanical functionality, this multifunctional "
                        "educational apparatus facilitates comprehensive developmental experimentation.")
    assert plain["sentences"] == 3 and plain["words"] == 12
    assert plain["flesch"] > 80 > 20 > dense["flesch"]
    assert readability("")["flesch"] is None
    assert readability("这个玩具很好玩。孩子很喜欢。")["language"] == "zh"


def test_item_audit_findings_hold_against_the_data(auditor: DescriptionAuditor, opinions) -> None:
    reviewed = opinions.mentions["item_id"].value_counts()
    audits = [auditor.audit(i) for i in reviewed.index[:25]]
    assert any(a.uncovered_aspects for a in audits)
    for audit in audits:
        row = auditor.items_.iloc[auditor.index_[audit.item_id]]
        for aspect in audit.uncovered_aspects:
            terms = opinions.groups.get(aspect["aspect"], [aspect["aspect"]])
            assert not mentions_term(row["description"], terms)  # really never mentioned
            assert aspect["mentions"] == ((opinions.mentions["item_id"] == audit.item_id)
                                          & (opinions.mentions["aspect"] == aspect["aspect"])).sum()
        for key in audit.missing_attributes:
            assert key not in (row["attributes"] or {})
            neighbours = auditor.neighbours_[auditor.index_[audit.item_id]]
            have = sum(key in (auditor.items_.iloc[j]["attributes"] or {}) for j in neighbours)
            assert have >= auditor.min_share * len(neighbours)
        assert audit.suggested_rewrite.startswith(str(row["title"]).strip())
        assert (audit.score > 0) == bool(audit.issues), (audit.score, audit.issues)  # every issue costs
        assert audit.reviews == opinions.select(item_id=audit.item_id)["review_id"].nunique()


def test_rewrite_praise_is_backed_by_reviews(auditor: DescriptionAuditor, opinions) -> None:
    for item in opinions.mentions["item_id"].value_counts().index[:40]:
        text = auditor.audit(item).suggested_rewrite
        if "Reviewers praise its" not in text:
            continue
        praised = text.split("Reviewers praise its ", 1)[1].split(" (", 1)[0].replace(" and ", ", ").split(", ")
        m = opinions.select(item_id=item)
        for aspect in praised:
            positive = ((m["aspect"] == aspect) & (m["polarity"] == "positive")).sum()
            assert positive >= 2, (item, aspect)
        support = text.split("Reviewers praise its ", 1)[1].split(" (", 1)[1].split(")", 1)[0]
        n, word = support.split()
        assert int(n.replace(",", "")) >= 2 and word == "reviews", text  # never "(1 reviews)"


def test_ranking_is_sorted_and_flags_empty_descriptions(auditor: DescriptionAuditor) -> None:
    ranked = auditor.rank(top=15)
    assert len(ranked) == 15
    assert [a.score for a in ranked] == sorted((a.score for a in ranked), reverse=True)
    empty = [i for i, d in zip(auditor.items_["item_id"], auditor.items_["description"], strict=True) if not d]
    if empty:
        assert "no description" in auditor.audit(empty[0]).issues
    with pytest.raises(KeyError, match="unknown item 'nope'"):
        auditor.audit("nope")
