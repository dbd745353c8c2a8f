"""`shopsense nlp train|predict|evaluate` and `shopsense models ...` end to end on real data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from shopsense.cli import app
from shopsense.registry import Registry

INTENTS = ["track_order", "get_refund", "recover_password", "delete_account", "check_payment_methods",
           "newsletter_subscription"]
# Questions on topics no customer-service intent covers (written for this test).
UNRELATED = [
    "what's the weather like tomorrow in Paris", "how do I bake sourdough bread at home",
    "who won the football match last night", "tell me a joke about cats", "what is the capital of Australia",
    "play some relaxing jazz music", "how tall is mount everest", "translate good morning into spanish",
    "I love hiking in the mountains on weekends", "what time is it in Tokyo right now",
    "recommend a good science fiction novel", "how many calories are in a banana",
    "set an alarm for 7am tomorrow", "what is 15 times 23", "what's the best way to learn the guitar",
    "is it going to rain this afternoon", "explain quantum computing in simple terms",
    "my dog keeps barking at night, what should I do", "which movies are showing in cinemas this week",
    "what's a good recipe for vegetable soup", "who painted the mona lisa",
    "how far is the moon from the earth", "what are the rules of chess", "write a short poem about the sea",
    "how do volcanoes form",
]
runner = CliRunner()


def cli(*args: str) -> object:
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def bitext(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data / "bitext-customer-support" / "bitext_20k_utterances_intents.csv")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, bitext: pd.DataFrame) -> dict:
    """One intent task trained through the CLI on 600 real utterances (100 per intent)."""
    root = tmp_path_factory.mktemp("nlp-cli")
    subset = bitext[bitext["intent"].isin(INTENTS)]
    sample = subset.groupby("intent").sample(100, random_state=7).sample(frac=1, random_state=7)
    held_out = subset.drop(sample.index).groupby("intent").sample(40, random_state=8)
    data = root / "intents.csv"
    sample.to_csv(data, index=False)
    home = root / "home"
    result = cli("nlp", "train", "--task", "intent", "--data", str(data), "--text-col", "utterance",
                 "--label-col", "intent", "--unknown-label", "out_of_scope", "--home", str(home))
    assert result.exit_code == 0, result.output
    return {"root": root, "home": home, "data": data, "held_out": held_out, "train_output": result.output}


def test_train_publishes_a_version_with_its_card(trained: dict) -> None:
    registry = Registry(trained["home"] / "artifacts")
    assert registry.models() == ["intent"]
    mv = registry.get("intent")  # production: the first version is promoted
    assert mv.version == "v0001"
    card = mv.card
    assert card["kind"] == "text-classifier"
    # with an out-of-scope label only candidates with embeddings (the gate needs them) may be published
    assert card["model_kind"] in ("frozen-head", "ensemble")
    names = {c["name"]: c for c in card["candidates"]}
    assert set(names) == {"frozen-head:onnx", "tfidf-logreg", "ensemble:onnx"}
    assert not names["tfidf-logreg"]["eligible"] and "out-of-scope" in names["tfidf-logreg"]["notes"][0]
    assert card["selection"]["published"] == card["chosen"]["candidate"]
    assert card["encoder"]["choice"]["backends"] == ["onnx"] and "English" in card["encoder"]["reason"]
    assert card["data"]["sha256"] == hashlib.sha256(trained["data"].read_bytes()).hexdigest()
    assert card["data"]["rows_used"] == 600
    sizes = card["split"]["sizes"]
    assert (sizes["train"], sizes["valid"], sizes["test"]) == (480, 60, 60)
    assert all(row == {"train": 80, "valid": 10, "test": 10} for row in card["split"]["per_class"].values())
    test = card["metrics"]["test"]
    assert set(test["per_class"]) >= set(INTENTS)
    assert {"precision", "recall", "f1", "support"} <= set(test["per_class"]["get_refund"])
    assert test["accuracy"] >= 0.9 and test["macro_f1"] >= 0.9
    assert card["baselines"][0]["name"] == "tfidf-logreg" and card["baselines"][0]["test"]["macro_f1"] > 0
    assert card["encoder"]["model_id"].startswith("all-MiniLM-L6-v2")
    assert card["chosen"]["head"] in ("logreg", "mlp") and card["params"]["unknown_label"] == "out_of_scope"
    assert 0 < card["out_of_scope"]["confidence_threshold"] < 1
    assert (mv.path / "confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| get_refund |" in (mv.path / "MODEL_CARD.md").read_text()
    assert registry.verify("intent", "v0001") == []
    assert "get_refund" in trained["train_output"] and "tfidf-logreg" in trained["train_output"]
    assert "encoder: 100% English" in trained["train_output"] and "| ensemble:onnx" in (
        mv.path / "MODEL_CARD.md").read_text()


def test_predict_writes_labels_and_confidence(trained: dict) -> None:
    held = trained["held_out"].rename(columns={"utterance": "message"})
    src, out = trained["root"] / "to_label.csv", trained["root"] / "labelled.csv"
    held[["flags", "message"]].to_csv(src, index=False)
    result = cli("nlp", "predict", "--task", "intent", "--input", str(src), "--output", str(out),
                 "--text-col", "message", "--home", str(trained["home"]))
    assert result.exit_code == 0, result.output
    labelled = pd.read_csv(out)
    assert list(labelled.columns) == ["flags", "message", "label", "confidence"]
    assert labelled["message"].tolist() == held["message"].tolist()
    assert labelled["confidence"].between(0, 1).all()
    assert (labelled["label"].to_numpy() == held["intent"].to_numpy()).mean() >= 0.9


def test_evaluate_prints_table_and_writes_json(trained: dict) -> None:
    data, out = trained["root"] / "held_out.jsonl", trained["root"] / "metrics.json"
    trained["held_out"].to_json(data, orient="records", lines=True)
    result = cli("nlp", "evaluate", "--task", "intent", "--data", str(data), "--text-col", "utterance",
                 "--label-col", "intent", "--json", str(out), "--home", str(trained["home"]))
    assert result.exit_code == 0, result.output
    assert "recover_password" in result.stdout and "macro-F1" in result.stdout
    metrics = json.loads(out.read_text())
    assert {"accuracy", "macro_f1", "per_class", "n"} <= set(metrics)
    assert metrics["n"] == 240 and metrics["version"] == "v0001"
    assert metrics["accuracy"] >= 0.9 and metrics["macro_f1"] >= 0.9
    assert metrics["per_class"]["track_order"]["support"] == 40


def test_unrelated_messages_get_the_unknown_label(trained: dict, shared_data: Path) -> None:
    titles = pd.read_csv(shared_data / "fashion-product-styles" / "styles_merged.csv")["productDisplayName"]
    messages = UNRELATED + titles.dropna().sample(60, random_state=3).tolist()  # real, off-topic text
    src, out = trained["root"] / "unrelated.jsonl", trained["root"] / "unrelated_out.jsonl"
    pd.DataFrame({"text": messages}).to_json(src, orient="records", lines=True)
    result = cli("nlp", "predict", "--task", "intent", "--input", str(src), "--output", str(out),
                 "--home", str(trained["home"]))
    assert result.exit_code == 0, result.output
    labels = [json.loads(line)["label"] for line in out.read_text().splitlines()]
    assert len(labels) == len(messages)
    assert sum(label == "out_of_scope" for label in labels) / len(labels) >= 0.9


def test_custom_task_from_jsonl_with_its_own_labels(trained: dict, shared_data: Path) -> None:
    styles = pd.read_csv(shared_data / "fashion-product-styles" / "styles_merged.csv")
    kinds = ["Bags", "Watches", "Eyewear", "Fragrance", "Belts", "Flip Flops"]
    rows = styles[styles["subCategory"].isin(kinds)].dropna(subset=["productDisplayName"])
    sample = rows.groupby("subCategory").sample(40, random_state=1)
    data = trained["root"] / "products.jsonl"
    sample.rename(columns={"productDisplayName": "title", "subCategory": "kind"})[["id", "title", "kind"]] \
        .to_json(data, orient="records", lines=True)
    home = str(trained["home"])
    result = cli("nlp", "train", "--task", "product-kind", "--data", str(data), "--text-col", "title",
                 "--label-col", "kind", "--home", home)
    assert result.exit_code == 0, result.output
    held = rows.drop(sample.index).groupby("subCategory").sample(20, random_state=2)
    held_file, out = trained["root"] / "products_held.csv", trained["root"] / "products_eval.json"
    held[["productDisplayName", "subCategory"]].to_csv(held_file, index=False)
    result = cli("nlp", "evaluate", "--task", "product-kind", "--data", str(held_file), "--text-col",
                 "productDisplayName", "--label-col", "subCategory", "--json", str(out), "--home", home)
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert set(metrics["per_class"]) == set(kinds)  # no unknown label: every prediction is one of the kinds
    assert metrics["accuracy"] >= 0.85
    assert sorted(Registry(trained["home"] / "artifacts").models()) == ["intent", "product-kind"]


def test_models_promote_and_rollback(trained: dict) -> None:
    home = str(trained["home"])
    result = cli("nlp", "train", "--task", "intent", "--data", str(trained["data"]), "--text-col",
                 "utterance", "--label-col", "intent", "--seed", "11", "--max-rows", "300", "--home", home)
    assert result.exit_code == 0, result.output
    registry = Registry(trained["home"] / "artifacts")
    assert registry.version_names("intent") == ["v0001", "v0002"]
    assert registry.production_version("intent") == "v0001"  # later versions wait for a promotion
    assert registry.get("intent", "v0002").card["data"]["rows_used"] == 300
    listing = cli("models", "list", "--home", home)
    # every model of the home is listed (whether the product-kind test ran first on this worker or not)
    assert listing.exit_code == 0 and all(m in listing.stdout for m in registry.models()), listing.stdout
    assert "intent" in listing.stdout
    assert cli("models", "promote", "intent", "v0002", "--home", home).exit_code == 0
    assert registry.production_version("intent") == "v0002"
    shown = cli("models", "show", "intent", "--home", home)
    assert shown.exit_code == 0 and "v0002" in shown.stdout and "production" in shown.stdout
    back = cli("models", "rollback", "intent", "--home", home)
    assert back.exit_code == 0 and "v0002 -> v0001" in back.stdout
    assert registry.production_version("intent") == "v0001"
    again = cli("models", "rollback", "intent", "--home", home)
    assert again.exit_code != 0 and "no earlier production version" in again.stderr
    shown_json = cli("models", "show", "intent", "v0002", "--json", "--home", home)
    assert json.loads(shown_json.stdout)["version"] == "v0002"


def test_bad_input_gives_clean_errors(trained: dict) -> None:
    home, root = str(trained["home"]), trained["root"]
    data = str(trained["data"])
    cases = [
        (["nlp", "train", "--task", "x", "--data", data, "--text-col", "text", "--label-col", "intent"],
         "column 'text' not found", "utterance"),
        (["nlp", "train", "--task", "x", "--data", str(root / "nope.csv")], "nope.csv: file not found", None),
        (["nlp", "predict", "--task", "sentiment", "--input", data, "--output", str(root / "o.csv")],
         "no trained task named 'sentiment'", "intent"),
        (["nlp", "evaluate", "--task", "intent", "--data", data, "--label-col", "intent"],
         "column 'text' not found", "utterance"),
        (["models", "show", "nope"], "no model named 'nope'", None),
        (["models", "promote", "intent", "v0042"], "no version 'v0042'", None),
    ]
    few = root / "few.csv"
    pd.DataFrame({"text": ["a b", "c d", "e f", "g h", "i j", "k l", "m n"],
                  "label": ["x", "x", "x", "x", "x", "y", "y"]}).to_csv(few, index=False)
    cases.append((["nlp", "train", "--task", "few", "--data", str(few)], "at least 5 examples", "'y' (2)"))
    broken = root / "broken.jsonl"
    broken.write_text('{"text": "fine", "label": "a"}\n{"text": "broken\n', encoding="utf-8")
    cases.append((["nlp", "predict", "--task", "intent", "--input", str(broken), "--output",
                   str(root / "b.csv")], "broken.jsonl:2", "not valid JSON"))
    for args, message, detail in cases:
        result = cli(*args, "--home", home)
        assert result.exit_code != 0, args
        assert "Traceback" not in result.output
        assert message in result.stderr, (args, result.stderr)
        if detail:
            assert detail in result.stderr, (args, result.stderr)
