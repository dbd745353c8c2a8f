"""Splits: exact cover, disjointness, determinism and no leakage (property tests), plus real data."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopsense.core.splits import Split, label_proportions, leave_last_out, stratified_split, temporal_split

START = pd.Timestamp("2020-01-01", tz="UTC")
MI_FILE = "amazon-musical-instruments-5core/reviews_Musical_Instruments_5.json.gz"


@st.composite
def interactions(draw: st.DrawFn, max_rows: int = 80) -> pd.DataFrame:
    n = draw(st.integers(0, max_rows))
    users = draw(st.lists(st.sampled_from([f"u{i}" for i in range(8)]), min_size=n, max_size=n))
    items = draw(st.lists(st.sampled_from([f"i{i}" for i in range(12)]), min_size=n, max_size=n))
    # Few distinct days, so that ties in time are common.
    days = draw(st.lists(st.integers(0, 15), min_size=n, max_size=n))
    labels = draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n, unique=True))
    return pd.DataFrame({"user_id": users, "item_id": items,
                         "timestamp": [START + pd.Timedelta(days=d) for d in days]},
                        index=pd.Index(labels, name="row"))


def _assert_exact_cover(df: pd.DataFrame, split: Split) -> None:
    parts = [split.train, split.valid, split.test]
    labels = [set(p.index) for p in parts]
    assert sum(len(p) for p in parts) == len(df)
    assert not (labels[0] & labels[1]) and not (labels[0] & labels[2]) and not (labels[1] & labels[2])
    assert set().union(*labels) == set(df.index)
    for part in parts:
        # Rows come back unchanged, under their own index labels, in input order.
        pd.testing.assert_frame_equal(part, df.loc[part.index])
        assert list(part.index) == [i for i in df.index if i in set(part.index)]


@settings(max_examples=100, deadline=None)
@given(df=interactions(), n_valid=st.integers(0, 2), n_test=st.integers(0, 2), extra=st.integers(0, 2))
def test_leave_last_out_properties(df: pd.DataFrame, n_valid: int, n_test: int, extra: int) -> None:
    min_interactions = n_valid + n_test + 1 + extra
    split = leave_last_out(df, n_valid=n_valid, n_test=n_test, min_interactions=min_interactions)
    _assert_exact_cover(df, split)
    again = leave_last_out(df, n_valid=n_valid, n_test=n_test, min_interactions=min_interactions)
    assert again.test.equals(split.test) and again.valid.equals(split.valid)
    for user, rows in df.groupby("user_id"):
        train = split.train[split.train["user_id"] == user]
        valid = split.valid[split.valid["user_id"] == user]
        test = split.test[split.test["user_id"] == user]
        if len(rows) < min_interactions:
            assert len(train) == len(rows)
            continue
        assert (len(valid), len(test)) == (n_valid, n_test)
        assert len(train) >= 1
        # No leakage: nothing in valid/test is earlier than anything in the user's train part.
        if len(test):
            assert test["timestamp"].min() >= max(train["timestamp"].max(), valid["timestamp"].max()
                                                  if len(valid) else train["timestamp"].max())
        if len(valid):
            assert valid["timestamp"].min() >= train["timestamp"].max()


@settings(max_examples=150, deadline=None)
@given(df=interactions(), valid_frac=st.sampled_from([0.0, 0.1, 0.2, 0.3]),
       test_frac=st.sampled_from([0.0, 0.1, 0.25]))
def test_temporal_split_properties(df: pd.DataFrame, valid_frac: float, test_frac: float) -> None:
    split = temporal_split(df, valid_frac=valid_frac, test_frac=test_frac)
    _assert_exact_cover(df, split)
    times = [p["timestamp"] for p in (split.train, split.valid, split.test) if len(p)]
    for earlier, later in zip(times, times[1:], strict=False):
        assert earlier.max() < later.min()  # ties never straddle a cut
    if test_frac and len(df):
        # The test part holds at least the asked number of rows (more only through a tie at the cut).
        assert len(split.test) >= round(len(df) * test_frac)
    assert temporal_split(df, valid_frac=valid_frac, test_frac=test_frac).valid.equals(split.valid)


@st.composite
def labelled(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 300))
    weights = draw(st.lists(st.integers(1, 20), min_size=1, max_size=6))
    classes = [c for c, w in enumerate(weights) for _ in range(w)]
    labels = draw(st.lists(st.sampled_from(classes), min_size=n, max_size=n))
    return pd.DataFrame({"label": labels, "x": range(n)}, index=pd.RangeIndex(1000, 1000 + n))


@settings(max_examples=100, deadline=None)
@given(df=labelled(), seed=st.integers(0, 1000))
def test_stratified_split_properties(df: pd.DataFrame, seed: int) -> None:
    split = stratified_split(df, "label", fractions=(0.8, 0.1, 0.1), seed=seed)
    _assert_exact_cover(df, split)
    again = stratified_split(df, "label", fractions=(0.8, 0.1, 0.1), seed=seed)
    assert list(again.test.index) == list(split.test.index)
    assert list(again.valid.index) == list(split.valid.index)
    n = len(df)
    assert abs(len(split.test) - round(n * 0.1)) <= 1
    if all(split.info["stratified"].values()):
        # Each class's share in each part is within a row's worth of its share overall (sklearn's rounding).
        overall = df["label"].value_counts(normalize=True)
        for part in (split.train, split.valid, split.test):
            if len(part) >= 20:
                share = part["label"].value_counts(normalize=True).reindex(overall.index, fill_value=0)
                assert ((share - overall).abs() <= 2 / len(part) + 0.02).all()


def test_stratified_split_keeps_proportions_on_real_ratings(shared_data) -> None:
    raw = pd.read_json(shared_data / MI_FILE, lines=True)
    split = stratified_split(raw, "overall", seed=7)
    props = label_proportions(split, "overall")
    for part in ("valid", "test"):
        for star, share in props["train"].items():
            assert props[part][star] == pytest.approx(share, abs=0.005)
    assert split.describe()["stratified"] == {"test": True, "valid": True}
    other = stratified_split(raw, "overall", seed=8)
    assert set(other.test.index) != set(split.test.index)


def test_stratified_split_with_tiny_classes_falls_back_by_the_documented_rule() -> None:
    df = pd.DataFrame({"label": ["a"] * 50 + ["b"] * 45 + ["rare1", "rare2", "rare3", None, None]})
    split = stratified_split(df, "label", seed=1)
    assert split.info["stratified"] == {"test": True, "valid": True}  # rare classes pooled into one stratum
    _assert_exact_cover(df, split)
    # Ten single-row classes pool into one stratum, which can be stratified.
    assert stratified_split(pd.DataFrame({"label": list("abcdefghij")}), "label").info["stratified"]["test"]
    two_each = pd.DataFrame({"label": [c for c in "abcdefghij" for _ in range(2)]})
    split = stratified_split(two_each, "label", seed=1)
    # A two-row test part cannot hold ten strata: both steps are plain seeded shuffles.
    assert split.info["stratified"] == {"test": False, "valid": False}
    assert (len(split.train), len(split.valid), len(split.test)) == (16, 2, 2)
    assert list(stratified_split(two_each, "label", seed=1).test.index) == list(split.test.index)


def test_leave_last_out_on_real_reviews(shared_data) -> None:
    raw = pd.read_json(shared_data / MI_FILE, lines=True)
    df = pd.DataFrame({"user_id": raw["reviewerID"], "item_id": raw["asin"],
                       "timestamp": pd.to_datetime(raw["unixReviewTime"], unit="s", utc=True)})
    split = leave_last_out(df)
    info = split.describe()
    # 5-core data: every one of the 1,429 users has >= 5 reviews, so each gives one valid and one test row.
    assert (info["valid"], info["test"], info["users_evaluated"]) == (1429, 1429, 1429)
    last = df.sort_values(["timestamp", "item_id"]).groupby("user_id").tail(1)
    assert set(split.test.index) == set(last.index)


def test_describe_and_errors() -> None:
    df = pd.DataFrame({"user_id": ["u"] * 4, "item_id": list("abcd"),
                       "timestamp": pd.date_range("2021-01-01", periods=4, tz="UTC")})
    info = leave_last_out(df).describe()
    assert info["train"] == 2 and info["fractions"] == {"train": 0.5, "valid": 0.25, "test": 0.25}
    cut = temporal_split(df, valid_frac=0.25, test_frac=0.25).describe()["test_cut"]
    assert cut == "2021-01-04T00:00:00+00:00"
    with pytest.raises(ValueError, match="min_interactions"):
        leave_last_out(df, n_valid=1, n_test=1, min_interactions=2)
    with pytest.raises(ValueError, match="missing column"):
        leave_last_out(df.drop(columns="item_id"))
    bad = df.copy()
    bad.loc[2, "timestamp"] = pd.NaT
    with pytest.raises(ValueError, match=r"1 missing value\(s\) \(first index labels: \[2\]\)"):
        temporal_split(bad)
    with pytest.raises(ValueError, match="valid_frac"):
        temporal_split(df, valid_frac=0.5, test_frac=0.5)
    with pytest.raises(ValueError, match="fractions"):
        stratified_split(df, "user_id", fractions=(0.5, 0.2, 0.2))
