"""Alerts on the real demo-store reviews: silent on the untouched data, firing in the right window (and only
for the right aspect) once a spike of complaints about one aspect is injected through the real pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import false_discovery_control

from shopsense.marketing.alerts import benjamini_hochberg, detect_alerts, two_proportion_z
from shopsense.marketing.aspects import OpinionIndex, build_opinions
from shopsense.marketing.opinion_store import sentiment_for

COMPLAINTS = [
    "The delivery arrived a week late.", "The delivery was slow and the courier lost the tracking number.",
    "Disappointed: the delivery took three weeks.", "Awful delivery, it came after the birthday.",
    "The delivery was late again, very poor service.", "Poor delivery, it turned up two weeks after the date.",
    "Delivery was delayed twice, very disappointing.", "The delivery came late, not good enough for a present.",
    "Terrible delivery that was already days overdue.", "The delivery was late and wet when it came.",
    "Shame about the delivery, which was far too slow.", "Our delivery never arrived on the promised day.",
]


def _spike(opinions: OpinionIndex, workspace, when: str) -> pd.DataFrame:
    """The store's mentions plus 12 complaint reviews about the delivery dated ``when``, run through the pipeline."""
    item = opinions.mentions["item_id"].iloc[0]
    reviews = pd.DataFrame({"review_id": [f"spike-{i}" for i in range(len(COMPLAINTS))], "user_id": "u-spike",
                            "item_id": item, "rating": 2, "text": COMPLAINTS, "title": "",
                            "timestamp": pd.Timestamp(when, tz="UTC")})
    sentiment, name = sentiment_for(workspace)
    injected = build_opinions(reviews, None, sentiment, model_name=name).mentions
    assert (injected["aspect"] == "delivery").sum() >= 10  # the pipeline itself finds the complaints
    return pd.concat([opinions.mentions, injected], ignore_index=True)


def test_no_alert_on_the_untouched_reviews(opinions: OpinionIndex) -> None:
    assert detect_alerts(opinions.mentions) == []
    assert detect_alerts(opinions.mentions, freq="Q") == []


@pytest.mark.parametrize("when,window", [("2015-06-10", "2015-06-01"), ("2014-03-20", "2014-03-01")])
def test_alert_fires_in_the_spiked_window_only(opinions: OpinionIndex, marketing_workspace, when: str,
                                               window: str) -> None:
    alerts = detect_alerts(_spike(opinions, marketing_workspace, when))
    assert alerts, "the injected spike was not detected"
    assert {a.aspect for a in alerts} == {"delivery"}
    assert {a.window_start for a in alerts} == {window}
    alert = alerts[0]
    assert alert.scope == "store" and alert.q_value <= 0.05
    assert alert.window_share > alert.baseline_share + 0.15 and alert.z > 0
    assert alert.quotes and all("delivery" in q.lower() for q in alert.quotes)


def test_since_keeps_earlier_data_as_baseline_only(opinions: OpinionIndex, marketing_workspace) -> None:
    spiked = _spike(opinions, marketing_workspace, "2015-06-10")
    assert detect_alerts(spiked, since="2015-07-01") == []
    assert [a.window_start for a in detect_alerts(spiked, since="2015-06-01")] == ["2015-06-01"]


def test_alerts_per_brand_scope(opinions: OpinionIndex, marketing_workspace) -> None:
    spiked = _spike(opinions, marketing_workspace, "2015-06-10")
    scopes = {a.scope for a in detect_alerts(spiked, by="item")}
    assert "store" in scopes  # the per-item scan adds tests; the store-level alert must survive the correction
    with pytest.raises(ValueError, match="by must be one of"):
        detect_alerts(spiked, by="colour")


def test_benjamini_hochberg_matches_scipy() -> None:
    p = np.random.default_rng(0).uniform(0, 0.2, 40)
    assert np.allclose(benjamini_hochberg(p), false_discovery_control(p, method="bh"))
    assert benjamini_hochberg([]).size == 0


def test_two_proportion_z() -> None:
    # 30/100 vs 10/100: pooled p = 0.2, se = sqrt(0.2 * 0.8 * 0.02) = 0.0566 -> z = 3.54
    assert two_proportion_z(30, 100, 10, 100) == pytest.approx(3.5355, abs=1e-3)
    assert two_proportion_z(0, 10, 0, 10) == 0.0
