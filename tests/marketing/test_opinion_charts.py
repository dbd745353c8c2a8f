"""Trend charts break their lines across windows with no reviews instead of drawing across them."""

from __future__ import annotations

import pandas as pd

from shopsense.marketing.opinion_charts import _broken_at_gaps, _step, trend_png


def _trend(periods: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"period": pd.to_datetime(periods), "aspect": "battery", "mentions": range(1, len(periods) + 1),
                         "negative": 0, "negative_share": 0.25})


def test_a_gap_of_years_becomes_a_break_in_the_line() -> None:
    trend = _trend(["2019-01-01", "2019-04-01", "2019-07-01", "2022-01-01", "2022-04-01"])
    step = _step(trend["period"])
    assert pd.Timedelta(days=89) <= step <= pd.Timedelta(days=92)
    drawn = _broken_at_gaps(trend, step)
    assert len(drawn) == len(trend) + 1
    hole = drawn[drawn["mentions"].isna()]
    assert len(hole) == 1 and pd.Timestamp("2019-07-01") < hole["period"].iloc[0] < pd.Timestamp("2022-01-01")
    assert list(drawn["period"]) == sorted(drawn["period"])
    assert trend_png(trend).startswith(b"\x89PNG")


def test_consecutive_windows_are_drawn_as_they_are() -> None:
    trend = _trend(["2020-01-01", "2020-04-01", "2020-07-01"])
    assert _broken_at_gaps(trend, _step(trend["period"])).equals(trend)
