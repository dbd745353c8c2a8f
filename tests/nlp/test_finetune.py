"""`--full`: fine-tune MiniLM with torch for a few steps, export to ONNX, serve with onnxruntime alone."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from shopsense.cli import app
from shopsense.nlp.finetune import FineTunedClassifier
from shopsense.nlp.tasks import load_task
from shopsense.nlp.training import TrainedTask, fit_task, publish_task
from shopsense.registry import Registry

pytest.importorskip("torch")
pytestmark = pytest.mark.slow
INTENTS = ["track_order", "get_refund", "recover_password", "delete_account"]


@pytest.fixture(scope="module")
def sample(shared_data: Path) -> pd.DataFrame:
    data = pd.read_csv(shared_data / "bitext-customer-support" / "bitext_20k_utterances_intents.csv")
    return data[data["intent"].isin(INTENTS)].groupby("intent").sample(16, random_state=0)  # 64 rows


@pytest.fixture(scope="module")
def finetuned(sample: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict:
    registry = Registry(tmp_path_factory.mktemp("ft") / "artifacts")
    # three steps cannot beat the other candidates: publish the fine-tuned one to test its serving path
    trained = fit_task("intent-ft", sample, "utterance", "intent", full=True, unknown_label="out_of_scope",
                       finetune_params={"max_steps": 3, "batch_size": 16, "threads": 1},
                       candidates=("fine-tuned",))
    version = publish_task(trained, registry)
    return {"registry": registry, "trained": trained, "version": version}


def test_fine_tuning_runs_and_publishes_an_onnx_model(finetuned: dict) -> None:
    trained: TrainedTask = finetuned["trained"]
    card = finetuned["version"].card
    assert card["model_kind"] == "fine-tuned"
    assert card["chosen"]["steps"] == 3 and card["chosen"]["history"][-1]["step"] == 3
    assert card["chosen"]["onnx_export_max_abs_diff"] < 1e-3
    assert [b["name"] for b in card["baselines"]] == ["tfidf-logreg"]
    assert [c["name"] for c in card["candidates"]] == ["frozen-head:onnx", "tfidf-logreg", "ensemble:onnx",
                                                       "fine-tuned"]
    assert card["selection"]["published"] == "fine-tuned" and set(trained.candidates) == {
        c["name"] for c in card["candidates"]}
    assert {"model.onnx", "tokenizer.json", "classifier.json", "head.npz", "confusion_matrix.png"} <= set(
        card["files"])
    assert card["metrics"]["test"]["n"] == card["split"]["sizes"]["test"] == trained.test_metrics["n"] > 0
    assert finetuned["registry"].production_version("intent-ft") == "v0001"


def test_onnx_served_model_matches_torch(finetuned: dict, sample: pd.DataFrame) -> None:
    trained: TrainedTask = finetuned["trained"]
    task = load_task("intent-ft", finetuned["registry"])
    assert isinstance(task.classifier, FineTunedClassifier)
    texts = sample["utterance"].tolist()[:12] + ["where is my parcel?", "I want my money back"]
    torch_logits = trained.classifier.torch_logits(texts)
    onnx_logits = task.classifier.onnx_logits(texts)
    assert np.abs(torch_logits - onnx_logits).max() < 1e-4
    predictions = task.predict_with_confidence(texts)
    assert len(predictions) == len(texts)
    assert all(p.label in task.labels for p in predictions)
    assert task.labels == [*sorted(INTENTS), "out_of_scope"]


_NO_TORCH = textwrap.dedent("""
    import json, sys
    sys.modules["torch"] = None  # any "import torch" now fails
    sys.modules["transformers"] = None
    from pathlib import Path
    from shopsense.nlp.tasks import load_task
    from shopsense.registry import Registry
    task = load_task("intent-ft", Registry(Path(sys.argv[1])))
    print(json.dumps(task.predict(["where is my order", "reset my password please"])))
""")


def test_fine_tuned_model_loads_without_torch(finetuned: dict) -> None:
    out = subprocess.run([sys.executable, "-c", _NO_TORCH, str(finetuned["registry"].root)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    labels = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(labels) == 2 and all(label in [*INTENTS, "out_of_scope"] for label in labels)


def test_cli_full_flag_trains_end_to_end(sample: pd.DataFrame, tmp_path: Path) -> None:
    data = tmp_path / "sample.csv"
    sample.to_csv(data, index=False)
    result = CliRunner().invoke(app, ["nlp", "train", "--task", "ft", "--data", str(data), "--text-col",
                                      "utterance", "--label-col", "intent", "--full", "--max-steps", "2",
                                      "--threads", "1",
                                      "--home", str(tmp_path / "home")], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    registry = Registry(tmp_path / "home" / "artifacts")
    card = registry.get("ft").card
    # --full adds the fine-tuned model to the candidates; the best on validation is published
    fine_tuned = next(c for c in card["candidates"] if c["name"] == "fine-tuned")
    assert fine_tuned["valid"]["macro_f1"] is not None and fine_tuned["test"]["n"] > 0
    assert json.loads((registry.get("ft").path / "classifier.json").read_text())["kind"] == card["model_kind"]
    assert "fine-tuned" in result.output
