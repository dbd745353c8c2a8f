"""The one training pipeline: :func:`train_all` trains and publishes the recommender, the search index, the
built-in NLP tasks and the review opinion index of a workspace.

``shopsense train``, ``shopsense demo``, ``shopsense retrain``, ``POST /v1/admin/retrain``, the retrain that
follows an erasure and the test fixtures all call it. Promotion: the first version of every model is
promoted; a later one when it is not worse on its validation metric than production (``promote=True``
forces it, ``promote=False`` never promotes); :class:`PipelineResult` says which were promoted and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from shopsense.core.settings import Settings
from shopsense.registry import ModelVersion, NotFoundError, Registry
from shopsense.serving.training import RECOMMENDER, SEARCH, retrain, train_recommenders

if TYPE_CHECKING:
    from shopsense.serving.workspace import Workspace

Progress = Callable[[str], None]
TOLERANCE = 0.005  # a later version within this of production's validation metric counts as "not worse"
BUILTIN_TASKS = ("sentiment", "intent", "category")


@dataclass(frozen=True)
class TrainOptions:
    """What to train and how; recorded in the recommender's card so a follow-up retrain repeats it."""

    model: str = "auto"
    recommender: bool = True  # False: only the NLP tasks (``shopsense train --task ...``)
    fold_in: bool = False
    multilingual: bool = True
    validate: bool = True
    nlp_tasks: tuple[str, ...] | None = None  # None: every built-in task the store can train
    quick_nlp: bool = False
    nlp: bool = True
    opinions: bool = True
    promote: bool | None = None  # None: the first version, then only when not worse

    @classmethod
    def of_latest(cls, registry: Registry, **overrides: Any) -> TrainOptions:
        """The options the latest recommender was trained with (defaults before any), with ``overrides``."""
        try:
            card = registry.get(RECOMMENDER, "latest").card
        except NotFoundError:
            card = {}
        return cls.from_card(card, **overrides)

    @classmethod
    def from_card(cls, card: dict[str, Any], **overrides: Any) -> TrainOptions:
        saved = card.get("train_options") or {}
        known = {k: v for k, v in saved.items() if k in cls.__dataclass_fields__}
        if known.get("nlp_tasks") is not None:
            known["nlp_tasks"] = tuple(known["nlp_tasks"])
        return cls(**{**known, **overrides})


@dataclass
class PipelineResult:
    """What one run published, what it promoted, and why."""

    published: dict[str, str] = field(default_factory=dict)
    promoted: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    opinion_mentions: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _metric(card: dict[str, Any], model: str) -> float | None:
    """The validation metric a model is compared on: NDCG@10 for the recommender, macro-F1 for NLP tasks."""
    if model == RECOMMENDER:
        metrics = card.get("metrics") or {}
        algorithm = card.get("algorithm")
        value = (metrics.get(algorithm) or {}).get("ndcg@10") if isinstance(metrics, dict) else None
        return float(value) if value is not None else None
    chosen = card.get("chosen") or {}
    value = chosen.get("valid_macro_f1", chosen.get("best_valid_macro_f1"))
    if value is None:
        value = ((card.get("metrics") or {}).get("test") or {}).get("macro_f1")
    return float(value) if value is not None else None


def decide(registry: Registry, model: str, version: ModelVersion, force: bool | None) -> tuple[bool, str]:
    """Whether ``version`` should become production, and why (see module docstring)."""
    current = registry.production_version(model)
    if force is True:
        return True, "asked for (--promote)"
    if force is False:
        return False, "not promoted (--no-promote); it is the candidate"
    if current is None:
        return True, "first version"
    try:
        prod_card = registry.get(model, current).card
    except NotFoundError:
        return True, f"production {current} is gone"
    new, old = _metric(version.card, model), _metric(prod_card, model)
    if model == SEARCH or (new is None and old is None):
        return True, "no validation metric to compare; follows the store"
    if new is None or old is None:
        return new is not None, (f"validation metric {'missing' if new is None else 'new'}; "
                                 f"{'kept' if new is None else 'promoted over'} {current}")
    if new >= old - TOLERANCE:
        return True, f"validation {new:.4f} vs production {current} {old:.4f}: not worse"
    return False, f"validation {new:.4f} vs production {current} {old:.4f}: worse; kept {current}"


def _publish_decision(workspace: Workspace, result: PipelineResult, model: str, version: ModelVersion,
                      force: bool | None) -> None:
    result.published[model] = version.version
    promote, why = decide(workspace.registry, model, version, force)
    if promote and workspace.registry.production_version(model) != version.version:
        workspace.registry.promote(model, version.version)
        result.promoted.append(f"{model} {version.version}")
    result.decisions.append(f"{model} {version.version}: {'promoted' if promote else 'candidate'} ({why})")


def _inputs(workspace: Workspace, options: TrainOptions) -> str:
    """What the recommender and the search index are fitted from: a fingerprint of the store, its events,
    the options that shape them and the code."""
    import hashlib
    import json

    import shopsense

    last = workspace.store.last_import() or {}
    shaping = {k: getattr(options, k) for k in ("model", "multilingual", "validate")}
    payload = [shopsense.__version__, last.get("content_hash"), workspace.store.generation(),
               workspace.store.events_summary(), shaping]
    return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()[:16]


def _current_inputs(workspace: Workspace) -> str | None:
    registry = workspace.registry
    versions = [registry.production_version(m) for m in (RECOMMENDER, SEARCH)]
    if None in versions:
        return None
    try:
        return registry.get(RECOMMENDER, versions[0]).card.get("inputs")
    except NotFoundError:
        return None


def _train_recommender(workspace: Workspace, options: TrainOptions, say: Progress) -> Any:
    """Fit (or fold events into) the recommender and the search index; None when nothing changed."""
    settings = workspace.settings
    inputs = _inputs(workspace, options)
    if _current_inputs(workspace) == inputs and options.promote is None:
        say(f"recommender and search: unchanged since {workspace.registry.production_version(RECOMMENDER)} "
            "(same store, events and options)")
        return None
    if options.fold_in:
        say("recommender and search: folding in new events")
        return retrain(settings, promote=False, multilingual=options.multilingual, progress=say)
    say("recommender and search: training")
    return train_recommenders(settings, model=options.model, multilingual=options.multilingual,
                              validate=options.validate, promote=False, progress=say,
                              card_extra={"train_options": asdict(options), "inputs": inputs})


def train_apart(settings: Settings, options: TrainOptions) -> dict[str, Any]:
    """:func:`train_all` on a workspace of its own (for :func:`shopsense.serving.jobs.run_apart`); what it
    published, as :meth:`PipelineResult.as_dict`. The caller's workspace picks the versions up from the
    registry."""
    from shopsense.serving.workspace import Workspace

    with Workspace(settings) as workspace:
        return train_all(workspace, options, load_models=False).as_dict()


def train_all(workspace: Workspace, options: TrainOptions | None = None,
              progress: Progress | None = None, load_models: bool = True) -> PipelineResult:
    """Train everything the store can feed and publish it (see module docstring); then load the served models
    into ``workspace`` (unless ``load_models`` is False: a process that only trains)."""
    options = options or TrainOptions()
    say = progress or (lambda _m: None)
    settings = workspace.settings
    result = PipelineResult()
    trained = _train_recommender(workspace, options, say) if options.recommender else None
    if trained is not None:
        result.notes.extend(trained.notes)
        for model, version in ((RECOMMENDER, trained.recommender), (SEARCH, trained.search)):
            if version is not None:
                _publish_decision(workspace, result, model, version, options.promote)
    if options.nlp:
        from shopsense.nlp.builtin.train_all import BuiltinTrainingError, train_builtin

        tasks = list(options.nlp_tasks) if options.nlp_tasks is not None else None
        try:
            versions = train_builtin(settings, tasks=tasks, quick=options.quick_nlp, on_step=say, promote=False)
        except BuiltinTrainingError as exc:
            if tasks is not None:  # asked for by name: the caller must hear why not
                raise
            result.notes.append(f"nlp: {exc}")
            versions = {}
        for name, version in versions.items():
            _publish_decision(workspace, result, name, version, options.promote)
    if options.recommender and load_models:
        workspace.models.load()
    if options.opinions and len(workspace.data().reviews) and (options.recommender or "sentiment" in result.published):
        say("opinion index: reading every review's aspects and their sentiment")
        result.opinion_mentions = int(len(workspace.opinions.load().mentions))
    return result
