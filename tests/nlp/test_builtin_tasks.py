"""`train_builtin` (the engine of `shopsense train`): the three built-in tasks, trained for real (quick
mode) on the shipped data and the demo store, then loaded from the registry and used."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shopsense.core.settings import Settings, get_settings
from shopsense.core.store import Store, import_directory
from shopsense.nlp.builtin.intent import OUT_OF_SCOPE, intent_dataset
from shopsense.nlp.builtin.resources import normalise_key
from shopsense.nlp.builtin.train_all import TASKS, BuiltinTrainingError, train_builtin
from shopsense.nlp.tasks import load_task
from shopsense.registry import Registry

DEMO = Path(str(resources.files("shopsense.data") / "demo_store"))
# Clear cases, phrased so that none of them is a training utterance (checked below).
INTENT_CASES = {
    "where is my order right now?": "track_order",
    "我要取消这个订单": "cancel_order",
    "what's the weather going to be in Paris tomorrow": OUT_OF_SCOPE,
}


# Embeddings are content-addressed (model id + text hash), so a cache shared between test runs changes
# no result; it only spares re-encoding the same texts on the next run.
EMBED_CACHE = Path(os.environ.get("SHOPSENSE_TEST_EMBED_CACHE",
                                  Path.home() / ".cache" / "shopsense" / "test-embeddings"))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict]:
    settings = get_settings(tmp_path_factory.mktemp("home"))
    EMBED_CACHE.mkdir(parents=True, exist_ok=True)
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.cache_dir.symlink_to(EMBED_CACHE, target_is_directory=True)
    settings.ensure_dirs()
    with Store.from_settings(settings) as store:
        import_directory(DEMO, store)
    versions = train_builtin(settings, quick=True)
    return settings, versions


def test_the_cases_are_not_training_utterances() -> None:
    trained = set(intent_dataset()["text"].map(normalise_key))
    assert not {normalise_key(t) for t in INTENT_CASES} & trained


def test_all_three_tasks_are_published_under_their_names(workspace: tuple[Settings, dict]) -> None:
    settings, versions = workspace
    assert set(versions) == set(TASKS)
    registry = Registry(settings.artifacts_dir)
    for name, version in versions.items():
        assert registry.production_version(name) == version.version
        assert version.card["task"] == name and version.card["kind"] == "text-classifier"
        assert (version.path / "MODEL_CARD.md").is_file()


def test_intent_routes_english_chinese_and_off_topic(workspace: tuple[Settings, dict]) -> None:
    settings, _ = workspace
    model = load_task("intent", Registry(settings.artifacts_dir))
    assert model.unknown_label == OUT_OF_SCOPE
    assert model.predict(list(INTENT_CASES)) == list(INTENT_CASES.values())
    assert {"track_order", "product_search", "greeting", OUT_OF_SCOPE} <= set(model.labels)


def test_intent_card_records_the_out_of_scope_gate(workspace: tuple[Settings, dict]) -> None:
    _, versions = workspace
    card = versions["intent"].card
    oos = card["out_of_scope"]
    assert oos["unknown_label"] == OUT_OF_SCOPE and oos["test_oos"] > 0
    # a third of the off-topic training messages is held back from the class to calibrate the gate
    n_oos = int((intent_dataset()["label"] == OUT_OF_SCOPE).sum())
    assert card["split"]["oos"]["valid"] + card["split"]["oos"]["test"] == -(-n_oos // 3)
    assert card["split"]["per_class"][OUT_OF_SCOPE]["train"] > 0


def test_sentiment_reads_english_and_chinese(workspace: tuple[Settings, dict]) -> None:
    settings, versions = workspace
    model = load_task("sentiment", Registry(settings.artifacts_dir))
    assert set(model.labels) == {"negative", "neutral", "positive"}
    texts = ["Absolutely love it, my son plays with it every single day. Brilliant quality!",
             "Broke after one day. Complete waste of money, very disappointed.",
             "质量很好，孩子非常喜欢，物超所值",
             "太差了，用了一天就坏了，非常失望"]
    assert model.predict(texts) == ["positive", "negative", "positive", "negative"]
    assert "workspace" in versions["sentiment"].card["data"]["source"]


def test_category_beats_the_majority_class(workspace: tuple[Settings, dict]) -> None:
    _, versions = workspace
    card = versions["category"].card
    test = card["metrics"]["test"]
    sizes = [v["test"] for v in card["split"]["per_class"].values()]
    assert test["accuracy"] > max(sizes) / sum(sizes) + 0.2
    assert "other" in card["labels"]


def test_unknown_task_is_refused_before_training(tmp_path: Path) -> None:
    with pytest.raises(BuiltinTrainingError, match="unknown built-in task.*'nope'"):
        train_builtin(get_settings(tmp_path), tasks=["nope"])


def test_category_needs_products(tmp_path: Path) -> None:
    with pytest.raises(BuiltinTrainingError, match="no products with a category"):
        train_builtin(get_settings(tmp_path), tasks=["category"])
    assert not Registry(get_settings(tmp_path).artifacts_dir).models()


def test_default_run_skips_category_without_products(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shopsense.nlp.builtin.train_all as builtin

    trained: list[str] = []
    monkeypatch.setattr(builtin, "_train", lambda name, *a, **k: trained.append(name) or name)
    monkeypatch.setattr(builtin, "_save_to_cache", lambda *a: None)
    steps: list[str] = []
    settings = get_settings(tmp_path).model_copy(update={"builtin_cache": tmp_path / "builtin-cache"})
    versions = train_builtin(settings, quick=True, on_step=steps.append, promote=False)
    assert trained == ["sentiment", "intent"] and set(versions) == {"sentiment", "intent"}
    assert any(s.startswith("category: skipped: the workspace has no products") for s in steps)


# ---- `shopsense train` --------------------------------------------------------------------------------
def _cli(*args: str) -> Any:
    from typer.testing import CliRunner

    from shopsense.cli import app

    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_cli_train_refuses_unknown_task_cleanly(tmp_path: Path) -> None:
    result = _cli("train", "--task", "nope", "--home", str(tmp_path))
    assert result.exit_code == 2 and "unknown built-in task(s) 'nope'" in result.output
    assert "Traceback" not in result.output


def test_cli_train_category_without_store_fails_cleanly(tmp_path: Path) -> None:
    result = _cli("train", "--task", "category", "--home", str(tmp_path))
    assert result.exit_code == 2 and "no products with a category" in result.output


def test_cli_train_then_nlp_evaluate(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    EMBED_CACHE.mkdir(parents=True, exist_ok=True)
    (home / "cache").symlink_to(EMBED_CACHE, target_is_directory=True)
    result = _cli("train", "--task", "intent", "--quick", "--home", str(home))
    assert result.exit_code == 0, result.output
    assert "published intent v0001: promoted (first version)" in result.output
    data = tmp_path / "probe.csv"
    pd.DataFrame({"text": list(INTENT_CASES), "label": list(INTENT_CASES.values())}).to_csv(data, index=False)
    result = _cli("nlp", "evaluate", "--task", "intent", "--data", str(data), "--home", str(home))
    assert result.exit_code == 0, result.output
    assert "out_of_scope" in result.output and "track_order" in result.output
