"""The fp32 encoder's weights live beside its graph (ONNX external data), so ONNX Runtime memory-maps them and
every server process shares one copy; an export made by an older release is converted in place."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from shopsense.text.model_files import FP32_FILE_NAME, external_data_path
from shopsense.text.onnx_export import externalise


def _inline_model(path: Path) -> np.ndarray:
    weights = np.random.default_rng(0).standard_normal((256, 64)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 256])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 64])],
        [numpy_helper.from_array(weights, "w")])
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return weights


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def test_externalised_weights_give_the_same_outputs(tmp_path: Path) -> None:
    graph = tmp_path / "model.onnx"
    weights = _inline_model(graph)
    x = np.random.default_rng(1).standard_normal((3, 256)).astype(np.float32)
    before = _run(graph, x)
    inline_size = graph.stat().st_size
    externalise(graph, graph)
    data = external_data_path(graph)
    assert data.stat().st_size >= weights.nbytes and graph.stat().st_size < inline_size // 10
    np.testing.assert_array_equal(_run(graph, x), before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "model.onnx.data"]  # no scratch left


def test_encoder_export_converts_an_older_inline_export(tmp_path: Path) -> None:
    _inline_model(tmp_path / FP32_FILE_NAME)
    env = {"SHOPSENSE_MODEL_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    cli = [sys.executable, "-c", "from shopsense.cli import main; main()", "encoder", "export"]
    first = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "weights moved to" in first.stdout and external_data_path(tmp_path / FP32_FILE_NAME).exists()
    again = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "already exported" in again.stdout
