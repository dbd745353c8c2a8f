"""What a model under evaluation is: :class:`ModelSpec` (name, factory, tuning grid) and :func:`param_grid`.

Kept apart from :mod:`shopsense.recommend.evaluation` so that the modules that contribute specs (the
hybrid's ``model_specs()``) and the evaluation helpers (:mod:`shopsense.recommend.evaluation_side`) need
not import the runner that imports them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shopsense.recommend.base import Recommender


@dataclass(frozen=True)
class ModelSpec:
    """A model under evaluation: its table name, how to build it, and the grid tuned on validation.

    ``factory(**params)`` returns an unfitted :class:`Recommender`; with ``uses_tuned=True`` it is called
    as ``factory(tuned=..., **params)`` (see :mod:`shopsense.recommend.evaluation`). ``baseline`` marks
    rows such as most-popular; ``note`` is shown beside the row.
    """

    name: str
    factory: Callable[..., Recommender]
    grid: tuple[dict[str, Any], ...] = ({},)
    uses_tuned: bool = False
    baseline: bool = False
    note: str = ""

    def build(self, params: dict[str, Any], tuned: dict[str, dict[str, Any]]) -> Recommender:
        return self.factory(tuned=tuned, **params) if self.uses_tuned else self.factory(**params)


def param_grid(**axes: Iterable[Any]) -> tuple[dict[str, Any], ...]:
    """The Cartesian product of the given axes, as a tuple of parameter dicts (first axis varies slowest)."""
    names = list(axes)
    return tuple(dict(zip(names, values, strict=True)) for values in itertools.product(*axes.values()))
