"""Duplicate reviews: exact and near duplicates, which one is kept, and LSH recall against brute force."""

from __future__ import annotations

import itertools
import random

import pandas as pd
import pytest

from shopsense.core.dedupe import find_duplicate_reviews, normalise_for_dedupe

MI_FILE = "amazon-musical-instruments-5core/reviews_Musical_Instruments_5.json.gz"
LONG = ("The strings arrived quickly and sound bright, warm and balanced on my old acoustic guitar. "
        "I restrung it in ten minutes and it stayed in tune for the whole weekend gig.")
LONG_ZH = ("这本书的印刷质量非常好,纸张也很厚实,孩子每天晚上都要我给他读上几页,"
           "讲的故事也很有意思,插图漂亮,非常推荐给大家购买。")


def _frame(rows: list[tuple[str, str, str, str | None]], index: list | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "text", "timestamp"], index=index)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


def test_exact_duplicates_follow_the_rules() -> None:
    reviews = _frame([
        ("u1", "i1", "Great!", "2020-01-01"),
        ("u1", "i1", "great", "2020-01-02"),        # same user+item, same normalised text: re-post
        ("u2", "i1", "Great!!", "2020-01-03"),      # another shopper's short stock phrase: kept
        ("u3", "i1", LONG, "2020-01-04"),
        ("u4", "i1", LONG.upper(), "2020-01-05"),   # long identical text on the same item: dropped
        ("u5", "i2", LONG, "2020-01-06"),           # same text, other user and other item: kept
        ("u3", "i9", LONG + " ", "2020-01-07"),     # same user copies the review to another item: dropped
        ("u6", "i3", "", "2020-01-08"),
        ("u7", "i3", "", "2020-01-09"),             # empty texts are never duplicates
    ])
    report = find_duplicate_reviews(reviews)
    assert report.exact == [(0, 1), (3, 4), (3, 6)]
    assert report.near == []
    assert report.drop_index == {1, 4, 6}
    assert report.summary() == {"reviews": 9, "exact_duplicates": 3, "near_duplicates": 0, "dropped": 3,
                                "kept": 6, "threshold": 0.9, "min_chars": 25}


def test_near_duplicates_in_english_and_chinese() -> None:
    reviews = _frame([
        ("u1", "i1", LONG, "2021-01-01"),
        ("u2", "i1", LONG.replace("quickly", "quickly!!").replace("weekend", "weekends"), "2021-01-02"),
        ("u3", "i1", "Completely different words about the same strings, which I liked a lot.", "2021-01-03"),
        ("u4", "i2", LONG_ZH, "2021-01-04"),
        ("u4", "i3", LONG_ZH.replace("购买。", "购买!!") + "谢谢", "2021-01-05"),  # same user, other item
        ("u5", "i4", LONG_ZH.replace("购买。", "购买!!") + "谢谢", "2021-01-06"),  # shares nothing: kept
        ("u4", "i5", LONG_ZH[:-6] + "强烈推荐。", "2021-01-07"),  # same user, but Jaccard 0.83 only
    ])
    report = find_duplicate_reviews(reviews)
    assert report.exact == []
    assert [(k, d) for k, d, _ in report.near] == [(0, 1), (3, 4)]
    for keep, drop, sim in report.near:
        assert 0.9 <= sim <= 1.0
        assert sim == pytest.approx(_jaccard(reviews.at[keep, "text"], reviews.at[drop, "text"]), abs=1e-4)
    assert find_duplicate_reviews(reviews, threshold=0.99).near == []
    lower = find_duplicate_reviews(reviews, threshold=0.8)
    assert [(k, d) for k, d, _ in lower.near] == [(0, 1), (3, 4), (3, 6)]


def test_the_earliest_review_is_kept_and_labels_are_the_input_index() -> None:
    reviews = _frame([
        ("u2", "i1", LONG, "2022-03-01"),
        ("u1", "i1", LONG, "2022-01-01"),   # earliest
        ("u3", "i1", LONG, None),           # no timestamp: counts as latest
        ("u4", "i1", LONG, "2022-03-01"),   # same time as the first row: row order decides
    ], index=["r-a", "r-b", "r-c", "r-d"])
    report = find_duplicate_reviews(reviews)
    assert report.exact == [("r-b", "r-a"), ("r-b", "r-d"), ("r-b", "r-c")]
    assert report.drop_index == {"r-a", "r-c", "r-d"}


def test_chains_keep_every_review_that_is_not_close_to_a_kept_one() -> None:
    rng = random.Random(3)
    letters = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(140))
    # a is a prefix of b, b of c: J(a, b) = 100/115, J(b, c) = 115/132, J(a, c) = 100/132 (shingle counts)
    a, b, c = letters[:104], letters[:119], letters[:136]
    reviews = _frame([("u1", "i1", a, "2020-01-01"), ("u2", "i1", b, "2020-01-02"),
                      ("u3", "i1", c, "2020-01-03")])
    sims = {(x, y): _jaccard(t1, t2) for (x, t1), (y, t2) in itertools.combinations(enumerate([a, b, c]), 2)}
    report = find_duplicate_reviews(reviews, threshold=0.8)
    assert sims[(0, 1)] >= 0.8 and sims[(1, 2)] >= 0.8 and sims[(0, 2)] < 0.8  # a real chain
    dropped = report.drop_index
    assert dropped == {1}
    kept = [i for i in range(3) if i not in dropped]
    # No two kept reviews are near duplicates, and every dropped one is close to a kept, earlier one.
    assert all(sims[(x, y)] < 0.8 for x, y in itertools.combinations(kept, 2))
    for keep, drop, sim in report.near:
        assert keep in kept and keep < drop and sim >= 0.8


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="threshold"):
        find_duplicate_reviews(_frame([]), threshold=0)
    with pytest.raises(ValueError, match="'text'"):
        find_duplicate_reviews(pd.DataFrame({"body": ["x"]}))
    assert find_duplicate_reviews(_frame([])).summary()["reviews"] == 0


def test_missing_user_or_item_ids_never_group() -> None:
    reviews = pd.DataFrame({"text": [LONG, LONG], "item_id": [None, None]})
    assert find_duplicate_reviews(reviews).drop_index == set()


def _shingles(text: str) -> set[str]:
    norm = normalise_for_dedupe(pd.Series([text]))[0]
    return {norm[i:i + 5] for i in range(len(norm) - 4)}


def _jaccard(a: str, b: str) -> float:
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb)


def test_lsh_finds_what_brute_force_finds_on_real_reviews(shared_data) -> None:
    raw = pd.read_json(shared_data / MI_FILE, lines=True)
    assert len(raw) == 10261
    reviews = pd.DataFrame({"user_id": raw["reviewerID"], "item_id": raw["asin"], "text": raw["reviewText"],
                            "timestamp": pd.to_datetime(raw["unixReviewTime"], unit="s", utc=True)})
    # 150 items' reviews, plus edited copies (a few characters changed) of some of them under other users.
    items = sorted(reviews["item_id"].unique())[:150]
    sample = reviews[reviews["item_id"].isin(items)].reset_index(drop=True)
    copies = sample[sample["text"].str.len() > 400].iloc[::7].copy()
    copies["user_id"] = "copycat-" + copies.index.astype(str)
    copies["text"] = copies["text"].str.replace(" the ", " teh ", n=1, regex=False) + " Recommended."
    copies["timestamp"] = copies["timestamp"] + pd.Timedelta(days=1)
    data = pd.concat([sample, copies], ignore_index=True)
    report = find_duplicate_reviews(data, threshold=0.9)

    exact_dropped = {d for _, d in report.exact}
    norms = normalise_for_dedupe(data["text"])
    shingles = {r: {n[i:i + 5] for i in range(len(n) - 4)} for r, n in norms.items() if len(n) >= 25}
    brute: set[tuple[int, int]] = set()
    for key in ("item_id", "user_id"):
        for _, group in data.groupby(key):
            rows = [r for r in group.index if r not in exact_dropped and r in shingles]
            for a, b in itertools.combinations(rows, 2):
                sa, sb = shingles[a], shingles[b]
                if len(sa & sb) >= 0.9 * len(sa | sb):
                    brute.add((min(a, b), max(a, b)))
    found = {(min(k, d), max(k, d)) for k, d, _ in report.near}
    assert len(copies) >= 10 and len(found) >= len(copies) - 3
    assert found <= brute
    # Every truly similar pair is either reported or its later review was dropped for another duplicate.
    for a, b in brute - found:
        assert a in report.drop_index or b in report.drop_index
    # Each copy is dropped unless its original was itself dropped (then it shares no group with a kept one).
    for i, source in enumerate(copies.index):
        if source not in report.drop_index:
            assert len(sample) + i in report.drop_index
