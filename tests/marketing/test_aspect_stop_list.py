"""What is not an aspect: the store's brands, generic nouns, names, and the store's own stop terms
(store.json ``insights_stop_terms``), from the extractor up to the workspace's opinion index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from shopsense.core.loaders import StoreDataError, load_store_dir_strict
from shopsense.core.settings import get_settings
from shopsense.core.store import Store, import_directory
from shopsense.core.store_identity import identity_of, read_file
from shopsense.core.validation import format_problem
from shopsense.marketing.aspects import LexiconSentiment, build_opinions
from shopsense.marketing.opinion_store import OpinionIndexes
from shopsense.marketing.opinion_text import StopList, review_clauses

GOOD_STORE = Path(__file__).resolve().parents[1] / "data" / "good_store"
REVIEWS = ["I love the Brio engine and the brio bridge is sturdy.",
           "Melissa and Doug make lovely puzzles but the steam engine is loose.",
           "The box was torn, on the other hand the track is sturdy and went together in a second."]


def _terms(texts: list[str], stop: StopList | None = None) -> set[str]:
    return {t for clauses in review_clauses(texts, stop=stop) for c in clauses for t in c.terms}


def test_generic_nouns_and_names_are_not_aspects() -> None:
    terms = _terms(REVIEWS[2:] + ["We bought it from Hamleys and the paint is chipped."])
    assert {"track", "paint"} <= terms
    assert not {"box", "hand", "second", "hamleys"} & terms


def test_catalog_brands_are_never_aspects() -> None:
    stop = StopList.for_store(["Brio", "Melissa & Doug"])
    assert "brio bridge" in _terms(REVIEWS[:1])  # lower-case "brio" reads as a common noun without the catalog
    terms = _terms(REVIEWS, stop)
    assert {"engine", "bridge", "puzzle"} <= terms
    assert not [t for t in terms if {"brio", "melissa", "doug"} & set(t.split())], terms

    items = pd.DataFrame({"item_id": ["t1", "t2"], "brand": ["Brio", "Melissa & Doug"], "category": ["Trains"] * 2})
    reviews = pd.DataFrame({"review_id": ["r1", "r2", "r3"], "item_id": ["t1", "t2", "t1"], "rating": [5, 3, 4],
                            "text": REVIEWS, "timestamp": ["2024-01-01T00:00:00Z"] * 3})
    index = build_opinions(reviews, items, LexiconSentiment())
    aspects = set(index.mentions["aspect"])
    assert "engine" in aspects and not {"brio", "melissa", "doug", "box", "hand"} & aspects


def test_a_brand_other_brands_titles_use_is_a_common_noun_not_a_name() -> None:
    titles = [("Action", "Action Man Space Mission"), ("Hasbro", "Marvel Action Figure"),
              ("Mattel", "Jurassic World Action Figure"), ("Rag Doll", "Rag Doll Bunny"), ("Brio", "Brio Bridge"),
              ("Bigjigs", "Wooden Rag Doll"), ("Hape", "Rag Doll Rosie"), ("Bigjigs", "Train for Brio track")]
    stop = StopList.for_store(["Action", "Rag Doll", "Brio"], titles_by_brand=titles)
    terms = _terms(["The action figure has a loose arm but the rag doll is soft.", "The brio bridge is sturdy."],
                   stop)
    assert {"action figure", "rag doll"} <= terms  # two other brands call their items so: the store's words
    assert not [t for t in terms if "brio" in t.split()], terms  # one other title only: still a name


def test_store_stop_terms_are_honoured_in_any_form() -> None:
    stop = StopList.for_store(stop_terms=["Engines", "track piece"])
    assert stop.blocks("engine") and stop.blocks("steam engine") and stop.blocks("track pieces")
    assert not stop.blocks("track") and not stop.blocks("wheel")
    terms = _terms(REVIEWS, stop)
    assert {"track", "brio bridge"} <= terms and not {"engine", "steam engine"} & terms


def test_store_json_stop_terms_reach_the_workspace_index(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(GOOD_STORE, shop)
    settings = get_settings(tmp_path / "home")
    settings.ensure_dirs()
    with Store.from_settings(settings) as store:
        import_directory(shop, store)
        before = set(OpinionIndexes(settings, store).load().mentions["aspect"])
        assert "puzzle" in before
        (shop / "store.json").write_text(json.dumps({"name": "Tiny", "insights_stop_terms": ["Puzzles"]}))
        import_directory(shop, store)
        assert identity_of(store.identity(), settings).insights_stop_terms == ("puzzles",)
        after = set(OpinionIndexes(settings, store).load().mentions["aspect"])
    assert after and "puzzle" not in after and after <= before


@pytest.mark.parametrize("value", ['"box"', '["box", 3]', '[""]', '{"box": true}'])
def test_a_bad_stop_list_is_a_clear_error_naming_the_field(tmp_path: Path, value: str) -> None:
    path = tmp_path / "store.json"
    path.write_text('{"name": "Tiny", "insights_stop_terms": ' + value + "}", encoding="utf-8")
    kept, problems = read_file(path)
    errors = [format_problem(p) for p in problems if p.severity == "error"]
    assert len(errors) == 1 and errors[0].startswith("store.json:insights_stop_terms: must be a list"), errors
    assert kept == {"name": "Tiny"}
    shop = tmp_path / "shop"
    shutil.copytree(GOOD_STORE, shop)
    shutil.copy(path, shop / "store.json")
    with pytest.raises(StoreDataError, match="insights_stop_terms"):
        load_store_dir_strict(shop)
