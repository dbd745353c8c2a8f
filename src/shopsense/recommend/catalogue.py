"""The one list of recommender models by name, and the one way to build one.

Serving (``shopsense train``), the evaluation runner (``shopsense evaluate recommend``) and the hybrid's
candidate generators all name models by the keys of :data:`MODELS`; each key is also the model class's
``name``, so a saved model (``model.json``) and a model card name it the same way.

:func:`build_recommender` takes the model's own hyperparameters (``params``, passed as they are) and the
context every caller has (``explain``, ``cache_dir``, ``seed``, ``encoder_backend``): each model receives
the context keywords it understands, under its own parameter name (``seed`` is ALS's ``random_state``),
and the others are ignored, so one call builds any model. Model modules are imported on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shopsense.recommend.base import Recommender

COMMON_KEYWORDS = ("explain", "cache_dir", "seed", "encoder_backend")


@dataclass(frozen=True)
class ModelEntry:
    """One model of the catalogue: its class (``module:Class``), what it is, which context keywords it takes
    (context keyword -> its constructor parameter) and whether the hybrid may use it as a candidate generator."""

    name: str
    target: str
    summary: str
    common: Mapping[str, str] = field(default_factory=dict)
    base: bool = True


_ENTRIES = (
    ModelEntry("popular", "shopsense.recommend.popular:MostPopular", "most popular items (optionally recent)"),
    ModelEntry("itemknn", "shopsense.recommend.itemknn:ItemKNN", "item-item cosine neighbours"),
    ModelEntry("ease", "shopsense.recommend.ease:EASE", "EASE linear autoencoder"),
    ModelEntry("als", "shopsense.recommend.factorization:ALS", "implicit ALS matrix factorisation",
               {"seed": "random_state"}),
    ModelEntry("bpr", "shopsense.recommend.factorization:BPR", "implicit BPR matrix factorisation",
               {"seed": "random_state"}),
    ModelEntry("text_profile", "shopsense.recommend.text_profile:TextProfile",
               "content-based: user profiles in the text-embedding space",
               {"explain": "explain", "cache_dir": "cache_dir", "encoder_backend": "encoder_backend"}),
    ModelEntry("hybrid", "shopsense.recommend.hybrid:Hybrid",
               "LightGBM LambdaRank over the other models' candidates",
               {"explain": "explain", "cache_dir": "cache_dir", "seed": "seed"}, base=False),
)
MODELS: dict[str, ModelEntry] = {e.name: e for e in _ENTRIES}
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)
BASE_MODEL_NAMES: tuple[str, ...] = tuple(e.name for e in _ENTRIES if e.base)


def _entry(name: str) -> ModelEntry:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}") from None


def model_class(name: str) -> type[Recommender]:
    """The class of the model ``name`` (its module is imported now). Raises ValueError for an unknown name."""
    module, qualname = _entry(name).target.split(":")
    return getattr(importlib.import_module(module), qualname)


def build_recommender(name: str, params: Mapping[str, Any] | None = None, **common: Any) -> Recommender:
    """An unfitted model ``name`` with hyperparameters ``params`` and the context keywords it takes (see the
    module doc; a ``None`` context value is left to the model's default). Raises ValueError for an unknown name."""
    entry = _entry(name)
    unknown = sorted(set(common) - set(COMMON_KEYWORDS))
    if unknown:
        raise TypeError(f"build_recommender: unknown keyword(s) {unknown}; the context keywords are "
                        f"{', '.join(COMMON_KEYWORDS)}")
    kwargs = {param: common[key] for key, param in entry.common.items() if common.get(key) is not None}
    kwargs.update(params or {})
    return model_class(name)(**kwargs)


__all__ = ["BASE_MODEL_NAMES", "COMMON_KEYWORDS", "MODELS", "MODEL_NAMES", "ModelEntry", "build_recommender",
           "model_class"]
