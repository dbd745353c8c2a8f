"""Explanations must be true: cited items were bought, percentages are real counts (Gift Cards data)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopsense.core.wording import short_name
from shopsense.recommend.dataset import InteractionDataset
from shopsense.recommend.explain import CITED_NAME_LIMIT, Evidence, attach_explanations, evidence_for
from shopsense.recommend.itemknn import ItemKNN
from shopsense.recommend.text_profile import TextProfile

CACHE = str(Path(tempfile.gettempdir()) / "shopsense-test-embeddings")
PRAISE = re.compile(r"Reviewers praise its (.+?) \((\d+)% positive\)")
WROTE = re.compile(r"Matches what you wrote about (.+?)\.")


@pytest.fixture(scope="module")
def model(gift_dataset: InteractionDataset) -> TextProfile:
    return TextProfile(cache_dir=CACHE).fit(gift_dataset)


@pytest.fixture(scope="module")
def explained(model: TextProfile) -> list[tuple[str, list]]:
    ds = model.dataset_
    counts = np.diff(ds.matrix.indptr)
    users = [str(ds.user_ids[u]) for u in np.argsort(-counts, kind="stable")[:40]]
    return [(u, model.recommend(u, k=10)) for u in users]


def _titles(ds: InteractionDataset, user: str) -> set[str]:
    """The names an explanation may cite for this user: the short names of their items' titles."""
    return {short_name(ds.item_title[i].strip(), CITED_NAME_LIMIT) for i in ds.user_items(ds.user_index[user])}


def _cited(explanation: str, titles: set[str]) -> str | None:
    """The title the explanation cites (titles may contain dots, so match whole titles, longest first)."""
    m = re.match(r"Because you (?:bought|viewed|added to your cart) ", explanation)
    if not m:
        return None
    rest = explanation[m.end() :]
    return next(
        (t for t in sorted(titles, key=len, reverse=True) if rest.startswith(t + ".")), "<not a title>"
    )


def test_every_recommendation_is_explained(explained) -> None:
    assert len(explained) == 40 and all(len(recs) == 10 for _, recs in explained)
    assert all(r.explanation and r.explanation.endswith(".") for _, recs in explained for r in recs)


def test_cited_items_were_bought_and_are_the_nearest(explained, model: TextProfile) -> None:
    ds = model.dataset_
    cited = 0
    for user, recs in explained:
        mine = ds.user_items(ds.user_index[user])
        for r in recs:
            title = _cited(r.explanation, _titles(ds, user))
            if title is None:
                continue
            cited += 1
            # The nearest of the items the user did not dislike (rated 3+ stars or not rated).
            inter = ds.interactions[ds.interactions["user_idx"] == ds.user_index[user]]
            disliked = set(inter.loc[inter["value"] < 3, "item_idx"])
            liked = np.array([i for i in mine if i not in disliked])
            sims = model.item_similarity(ds.item_index[r.item_id])[liked]
            assert short_name(ds.item_title[liked[int(np.argmax(sims))]].strip(), CITED_NAME_LIMIT) == title
    assert cited >= 200  # nearly every explanation of a known user cites one of their items


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s]


def test_praise_percentages_are_real_counts(explained, model: TextProfile) -> None:
    ds = model.dataset_
    ev = evidence_for(ds)
    checked = 0
    for _, recs in explained:
        for r in recs:
            m = PRAISE.search(r.explanation)
            if not m:
                continue
            aspect, pct = m.group(1), int(m.group(2))
            pos, tot = ev.item_aspects[r.item_id][aspect]
            assert tot >= 3 and pct == round(100 * pos / tot) and pos / tot >= 0.7
            # An independent recount of the sentences that mention the aspect.
            word = re.compile(rf"\b{re.escape(aspect)}(?:s|es)?\b", re.IGNORECASE)
            texts = ds.reviews.loc[ds.reviews["item_idx"] == ds.item_index[r.item_id], "text"]
            assert sum(bool(word.search(s)) for t in texts for s in _sentences(str(t))) == tot
            checked += 1
    assert checked >= 3


def test_written_aspects_come_from_the_users_own_reviews(explained, model: TextProfile) -> None:
    ds = model.dataset_
    found = 0
    for user, recs in explained:
        own = " ".join(ds.reviews.loc[ds.reviews["user_id"] == user, "text"]).lower()
        for r in recs:
            m = WROTE.search(r.explanation)
            if not m:
                continue
            item_reviews = " ".join(
                ds.reviews.loc[ds.reviews["item_idx"] == ds.item_index[r.item_id], "text"]
            )
            item_text = (ds.item_text()[ds.item_index[r.item_id]] + " " + item_reviews).lower()
            for aspect in re.split(r", | and ", m.group(1)):
                assert re.search(rf"\b{re.escape(aspect)}", own), (user, aspect)
                assert re.search(rf"\b{re.escape(aspect)}", item_text), (r.item_id, aspect)
                found += 1
    assert found >= 10


def test_cf_models_get_grounded_explanations(gift_dataset: InteractionDataset) -> None:
    knn = ItemKNN(k_neighbors=50).fit(gift_dataset)
    user = str(gift_dataset.user_ids[int(np.argmax(np.diff(gift_dataset.matrix.indptr)))])
    recs = attach_explanations(knn, gift_dataset, knn.recommend(user, k=5), user)
    assert len(recs) == 5 and [r.item_id for r in recs] == [r.item_id for r in knn.recommend(user, k=5)]
    for r in recs:
        assert _cited(r.explanation, _titles(gift_dataset, user)) in _titles(gift_dataset, user)


def test_profile_and_cold_item_explanations(model: TextProfile, gift_dataset: InteractionDataset) -> None:
    recent = [str(i) for i in gift_dataset.item_ids[:2]]
    titles = {short_name(gift_dataset.item_title[gift_dataset.item_index[i]].strip(), CITED_NAME_LIMIT)
              for i in recent}
    profile_recs = model.recommend_for_profile(recent, k=5)
    assert len(profile_recs) == 5
    for r in profile_recs:
        assert r.explanation.startswith("Because you viewed") and _cited(r.explanation, titles) in titles
    m2 = TextProfile(cache_dir=CACHE).fit(gift_dataset)
    m2.fold_in_items(
        pd.DataFrame(
            {
                "item_id": ["new-1"],
                "title": ["Olive Garden Gift Card"],
                "category": ["Gift Cards > Restaurants"],
            }
        )
    )
    user = str(gift_dataset.user_ids[0])
    rec = m2.recommend(user, k=m2.dataset_.n_items)
    new = next(r for r in rec if r.item_id == "new-1")
    # the user's history is reviews (purchases), never views: the old "similar to things you viewed" was untrue
    assert new.explanation.startswith("New in Restaurants, like things you bought")


def test_evidence_round_trip(gift_dataset: InteractionDataset, tmp_path: Path) -> None:
    ev = evidence_for(gift_dataset)
    assert ev.item_aspects and ev.user_aspects
    ev.save(tmp_path)
    back = Evidence.load(tmp_path)
    assert back == ev
    assert Evidence.load(tmp_path / "nowhere") is None
