"""Saving and loading recommenders: one directory per model, written atomically.

``model.json`` names the class (``module:qualname``), its ``get_params()`` and the state layout;
``state/`` holds the arrays of ``_get_state()``, one ``.npy`` file each (scipy CSR matrices split into their
parts, no pickle), loaded memory-mapped and read-only: N server processes share one copy of a large model
(an EASE item-item matrix, say) through the page cache. Format 1 kept them in ``state.npz``, still read;
``dataset/`` holds the :class:`InteractionDataset` the model serves from; ``_save_extra`` may add files.

This module sits below :mod:`shopsense.recommend.base`: it needs only what :class:`SavableModel` lists,
which every :class:`~shopsense.recommend.base.Recommender` provides.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import scipy.sparse as sp

from shopsense.core.atomic import atomic_directory
from shopsense.recommend.dataset import InteractionDataset

FORMAT = 2
READABLE_FORMATS = (1, 2)


class SavableModel(Protocol):
    """What :func:`save_model` and :func:`load_model` need of a model (the persistence half of ``Recommender``)."""

    dataset_: InteractionDataset
    fit_time_: float | None

    @property
    def name(self) -> str: ...  # a class attribute of each model
    def __init__(self, **params: Any) -> None: ...
    def get_params(self) -> dict[str, Any]: ...
    def _check_fitted(self) -> InteractionDataset: ...
    def _get_state(self) -> dict[str, Any]: ...
    def _set_state(self, state: dict[str, Any]) -> None: ...
    def _save_extra(self, directory: Path) -> None: ...
    def _load_extra(self, directory: Path) -> None: ...


M = TypeVar("M", bound=SavableModel)


def save_model(model: SavableModel, target: Path) -> Path:
    """Write ``model`` into directory ``target`` (see the module docstring); returns ``target``."""
    ds = model._check_fitted()
    with atomic_directory(target) as tmp:
        arrays: dict[str, np.ndarray] = {}
        kinds: dict[str, str] = {}
        for key, value in model._get_state().items():
            if sp.issparse(value):
                m = sp.csr_matrix(value)
                arrays.update(
                    {
                        f"{key}__data": m.data,
                        f"{key}__indices": m.indices,
                        f"{key}__indptr": m.indptr,
                        f"{key}__shape": np.asarray(m.shape),
                    }
                )
                kinds[key] = "csr"
            else:
                arrays[key] = np.asarray(value)
                kinds[key] = "array"
        (tmp / "state").mkdir()
        for key, array in arrays.items():
            np.save(tmp / "state" / f"{key}.npy", array, allow_pickle=False)
        ds.save(tmp / "dataset")
        model._save_extra(tmp)
        meta = {
            "format": FORMAT,
            "class": f"{type(model).__module__}:{type(model).__qualname__}",
            "name": model.name,
            "params": model.get_params(),
            "state": kinds,
            "fit_time_s": getattr(model, "fit_time_", None),
        }
        (tmp / "model.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    return target


def load_model(directory: Path, expected: type[M]) -> M:
    """Read a model written by :func:`save_model`; its class must be ``expected`` or a subclass."""
    meta_path = directory / "model.json"
    if not meta_path.exists():
        raise FileNotFoundError(f"{directory}: no model.json (not a saved recommender)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") not in READABLE_FORMATS:
        raise ValueError(f"{meta_path}: unsupported format {meta.get('format')!r} (expected {FORMAT})")
    module, _, qualname = str(meta.get("class", "")).partition(":")
    try:
        klass = getattr(importlib.import_module(module), qualname)
    except (ImportError, AttributeError, ValueError):
        raise ValueError(f"{meta_path}: class {meta.get('class')!r} cannot be imported") from None
    if not (isinstance(klass, type) and issubclass(klass, expected)):
        raise TypeError(f"{meta_path}: {meta['class']} is not a {expected.__name__}")
    model = klass(**meta["params"])
    model.dataset_ = InteractionDataset.load(directory / "dataset")
    model.fit_time_ = meta.get("fit_time_s")
    with _state_arrays(directory, meta["format"]) as z:
        state: dict[str, Any] = {}
        for key, kind in meta["state"].items():
            if kind == "csr":
                state[key] = sp.csr_matrix(
                    (z[f"{key}__data"], z[f"{key}__indices"], z[f"{key}__indptr"]),
                    shape=tuple(z[f"{key}__shape"]), copy=False,
                )
            else:
                state[key] = z[key]
    model._set_state(state)
    model._load_extra(directory)
    return model


@contextmanager
def _state_arrays(directory: Path, version: int) -> Iterator[Mapping[str, np.ndarray]]:
    """The saved arrays by name: memory-mapped ``.npy`` files (format 2) or the arrays of ``state.npz``."""
    if version == 1:
        with np.load(directory / "state.npz", allow_pickle=False) as z:
            yield z
        return
    yield {path.stem: np.load(path, mmap_mode="r", allow_pickle=False) for path in (directory / "state").glob("*.npy")}
