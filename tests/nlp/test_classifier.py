"""TextClassifier, its out-of-scope gate, head conversion to plain arrays, and the metrics it reports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from shopsense.nlp.classifier import (
    OutOfScopeGate,
    TextClassifier,
    _softmax_layers_from_logreg,
    _softmax_layers_from_mlp,
    run_layers,
)
from shopsense.nlp.reports import classification_metrics
from shopsense.nlp.training import TrainingDataError, prepare_frame

INTENTS = ["cancel_order", "change_shipping_address", "check_invoices", "contact_human_agent", "get_invoice",
           "switch_account"]
UNRELATED = [
    "what's the weather like tomorrow in Paris", "how do I bake sourdough bread at home",
    "who won the football match last night", "tell me a joke about cats", "what is the capital of Australia",
    "play some relaxing jazz music", "how tall is mount everest", "translate good morning into spanish",
    "I love hiking in the mountains on weekends", "what time is it in Tokyo right now",
    "recommend a good science fiction novel", "how many calories are in a banana",
    "set an alarm for 7am tomorrow", "what is 15 times 23", "what's the best way to learn the guitar",
    "is it going to rain this afternoon", "explain quantum computing in simple terms",
    "my dog keeps barking at night, what should I do", "which movies are showing in cinemas this week",
    "what's a good recipe for vegetable soup",
]


@pytest.fixture(scope="module")
def splits(shared_data: Path) -> dict[str, pd.DataFrame]:
    data = pd.read_csv(shared_data / "bitext-customer-support" / "bitext_20k_utterances_intents.csv")
    data = data[data["intent"].isin(INTENTS)]
    train = data.groupby("intent").sample(30, random_state=0)
    rest = data.drop(train.index)
    valid = rest.groupby("intent").sample(6, random_state=1)
    test = rest.drop(valid.index).groupby("intent").sample(15, random_state=2)
    return {"train": train, "valid": valid, "test": test}


@pytest.fixture(scope="module")
def model(splits: dict[str, pd.DataFrame], shared_data: Path) -> TextClassifier:
    titles = pd.read_csv(shared_data / "fashion-product-styles" / "styles_merged.csv")["productDisplayName"]
    oos_valid = titles.dropna().sample(30, random_state=5).tolist() + UNRELATED[:10]
    return TextClassifier(unknown_label="out_of_scope", seed=3).fit(
        splits["train"]["utterance"], splits["train"]["intent"], splits["valid"]["utterance"],
        splits["valid"]["intent"], valid_oos_texts=oos_valid)


def test_fit_learns_the_intents(model: TextClassifier, splits: dict[str, pd.DataFrame]) -> None:
    test = splits["test"]
    predicted = model.predict(test["utterance"].tolist())
    assert (np.array(predicted) == test["intent"].to_numpy()).mean() >= 0.85
    assert model.classes_ == sorted(INTENTS)
    assert model.labels == [*sorted(INTENTS), "out_of_scope"]
    classes, probs = model.predict_proba(test["utterance"].tolist()[:5])
    assert classes == model.classes_ and probs.shape == (5, 6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    # the head was chosen on validation among the candidates it tried
    assert model.chosen_ in model.selection_ and len(model.selection_) == len(model.c_grid)
    params = model.get_params()
    assert params["unknown_label"] == "out_of_scope" and params["seed"] == 3


def test_gate_rejects_unrelated_and_keeps_in_scope(model: TextClassifier,
                                                   splits: dict[str, pd.DataFrame]) -> None:
    report = model.gate_.report_
    # calibrated with out-of-scope examples: in-scope validation accuracy within one point of no gate
    assert report["valid_accuracy_with_gate"] >= report["valid_correct"] / report["valid_in_scope"] - 0.01
    assert report["valid_oos_rejected"] >= 0.9
    unseen = UNRELATED[10:]
    preds = model.predict_with_confidence(unseen)
    assert sum(not p.in_scope and p.label == "out_of_scope" for p in preds) / len(preds) >= 0.9
    in_scope = model.predict_with_confidence(splits["test"]["utterance"].tolist())
    assert np.mean([p.in_scope for p in in_scope]) >= 0.9
    p = in_scope[0]
    assert p.label in model.classes_ and 0 < p.confidence <= 1 and set(p.scores) == set(model.classes_)


def test_personal_data_is_masked_before_the_model_sees_it(model: TextClassifier) -> None:
    raw = ["please send the invoice to maria.lopez@example.com or call +44 20 7946 0958"]
    masked = ["please send the invoice to [EMAIL] or call [PHONE]"]
    np.testing.assert_allclose(model.predict_proba(raw)[1], model.predict_proba(masked)[1], atol=1e-6)


def test_save_and_load_round_trip_without_pickle(model: TextClassifier, splits: dict[str, pd.DataFrame],
                                                 tmp_path: Path) -> None:
    model.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["classifier.json", "head.npz"]
    with np.load(tmp_path / "head.npz", allow_pickle=False) as arrays:
        assert all(arrays[name].dtype != object for name in arrays.files)
    config = json.loads((tmp_path / "classifier.json").read_text())
    assert config["kind"] == "frozen-head"
    assert config["gate"]["confidence_threshold"] == model.gate_.conf_threshold_
    assert config["gate"]["similarity_threshold"] == model.gate_.sim_threshold_ > 0
    loaded = TextClassifier.load(tmp_path)
    texts = splits["test"]["utterance"].tolist()[:20] + UNRELATED[:5]
    assert loaded.predict(texts) == model.predict(texts)
    np.testing.assert_allclose(loaded.predict_proba(texts)[1], model.predict_proba(texts)[1], atol=1e-6)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_classes", [2, 4])
def test_heads_as_arrays_match_scikit_learn(n_classes: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 12))
    y = (x[:, 0] * 2 + x[:, 1] > 0).astype(int) + (2 * (x[:, 2] > 0.5) if n_classes == 4 else 0)
    logreg = LogisticRegression(C=3.0).fit(x, y)
    np.testing.assert_allclose(run_layers(_softmax_layers_from_logreg(logreg), x.astype(np.float32)),
                               logreg.predict_proba(x), atol=1e-5)
    mlp = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(x, y)
    np.testing.assert_allclose(run_layers(_softmax_layers_from_mlp(mlp), x.astype(np.float32)),
                               mlp.predict_proba(x), atol=1e-5)


def test_gate_search_respects_the_accuracy_budget() -> None:
    rng = np.random.default_rng(1)
    conf = rng.uniform(0.6, 1.0, 400)
    sim = rng.uniform(0.4, 0.9, 400)
    correct = rng.uniform(size=400) < 0.95
    oos_conf, oos_sim = rng.uniform(0.2, 0.7, 100), rng.uniform(0.0, 0.5, 100)
    gate = OutOfScopeGate(max_drop=0.01).fit(conf, sim, correct, oos_conf, oos_sim)
    lost = (gate.reject(conf, sim) & correct).sum()
    assert lost <= 4  # 1% of 400
    # no pair of thresholds within the budget rejects more out-of-scope examples
    rejected = gate.reject(oos_conf, oos_sim).mean()
    for tc in np.quantile(conf[correct], [0.0, 0.005, 0.01]):
        for ts in np.quantile(sim[correct], [0.0, 0.005, 0.01]):
            within = (((conf < tc) | (sim < ts)) & correct).sum() <= 4
            if within:
                assert ((oos_conf < tc) | (oos_sim < ts)).mean() <= rejected + 1e-9
    # without out-of-scope examples: low quantiles of the correct predictions
    plain = OutOfScopeGate(max_drop=0.01).fit(conf, sim, correct)
    assert (plain.reject(conf, sim) & correct).sum() <= 4
    assert plain.conf_threshold_ > conf.min()


def test_metrics_count_predictions_outside_the_gold_labels() -> None:
    metrics = classification_metrics(["a", "a", "b", "b"], ["a", "out_of_scope", "b", "a"])
    assert metrics["labels"] == ["a", "b", "out_of_scope"]
    assert metrics["accuracy"] == 0.5
    assert metrics["per_class"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    # macro-F1 averages the gold classes only: a (0.5) and b (0.667)
    assert metrics["macro_f1"] == pytest.approx((0.5 + 2 / 3) / 2, abs=1e-3)
    assert metrics["confusion"] == [[1, 0, 1], [1, 1, 0], [0, 0, 0]]


def test_prepare_frame_checks_columns_and_class_sizes() -> None:
    df = pd.DataFrame({"msg": ["a", "b", None, "  ", "e", "f"], "y": ["x", "x", "x", "y", None, "y"]})
    with pytest.raises(TrainingDataError,
                       match=r"column 'text' not found in data.csv; available columns: msg, y"):
        prepare_frame(df, "text", "y", source="data.csv")
    frame, dropped = prepare_frame(df, "msg", "y", min_per_class=1)
    assert frame.to_dict("list") == {"text": ["a", "b", "f"], "label": ["x", "x", "y"]}
    assert dropped == {"empty_text": 2, "empty_label": 1}
    with pytest.raises(TrainingDataError, match=r"'y' \(1\)"):
        prepare_frame(df, "msg", "y", min_per_class=2)
    with pytest.raises(TrainingDataError, match="at least two distinct labels"):
        prepare_frame(df.assign(y="same"), "msg", "y")
