"""``shopsense train``: the built-in ``sentiment``, ``intent`` and ``category`` tasks, trained into the
workspace registry under those names (so ``shopsense nlp evaluate --task intent`` works on them).

Each task is one :func:`shopsense.nlp.training.train_task` call on the data its builder returns:

- ``sentiment``: shipped English and Chinese review samples plus the workspace's reviews.
- ``intent``: Bitext's 27 customer-service intents, the 5 shopping intents and ``out_of_scope``
  (English and Chinese), with the out-of-scope gate on (see :data:`RECIPES`).
- ``category``: the workspace's products, title + description -> a level of the category path.

``quick=True`` subsamples every task (tests, demos): well under a minute of encoding.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from shopsense.core.settings import Settings
from shopsense.nlp.builtin import category, intent, sentiment
from shopsense.nlp.builtin.resources import cap_per_label
from shopsense.registry import CARD_FILE, ModelVersion, Registry

log = logging.getLogger(__name__)

TASKS: tuple[str, ...] = ("sentiment", "intent", "category")
# Quick mode (tests, demos): small seeded samples, no TF-IDF baseline, logistic-regression head only.
QUICK_SENTIMENT_ROWS = 400
QUICK_CATEGORY_ROWS = 300
QUICK_EN_PER_INTENT = 10
QUICK_ZH_PER_INTENT = 8
# Quick: the asked encoder's head only. An English head on ten examples an intent is too thin to route English
# messages to (the assistant's conversation tests caught it: three turns the e5 head reads right went wrong).
QUICK_OPTIONS: dict[str, Any] = {"baseline": None, "head": "logreg", "route_english": False}


class BuiltinTrainingError(ValueError):
    """The built-in tasks cannot be trained as asked (unknown task, no products for ``category``)."""


@dataclass(frozen=True)
class Recipe:
    """How a built-in task is trained: the ``train_task`` options besides its data."""

    encoder_backend: str
    unknown_label: str | None = None
    head: str = "auto"
    extra: dict[str, Any] = field(default_factory=dict)

    def options(self) -> dict[str, Any]:
        return {"encoder_backend": self.encoder_backend, "unknown_label": self.unknown_label,
                "head": self.head, **self.extra}


# multilingual-e5-small reads English and Chinese in one space, so one model serves both languages
# (MiniLM cannot read Chinese: 27% accuracy on the Chinese intents vs 88% for e5, see
# benchmarks/bench_intent.py). The category task follows the catalog's language (see category_backend).
RECIPES: dict[str, Recipe] = {
    "sentiment": Recipe(encoder_backend="multilingual"),
    "intent": Recipe(encoder_backend="multilingual", unknown_label=intent.OUT_OF_SCOPE),
    "category": Recipe(encoder_backend="onnx"),
}
ENGLISH_SHARE_FOR_MINILM = 0.95
# The store's own reviews are added to the shipped sentiment samples only when there are enough of them to
# change the model; below this the cached model trained on the shipped samples alone is used.
MIN_STORE_REVIEWS_FOR_SENTIMENT = 2000
CACHE_FORMAT = "builtin-cache-1"


def category_backend(frame: pd.DataFrame) -> str:
    """MiniLM (fast, English-only) for an English catalog, the multilingual encoder otherwise."""
    english = float((frame["lang"] == "en").mean()) if len(frame) else 1.0
    return "onnx" if english >= ENGLISH_SHARE_FOR_MINILM else "multilingual"


def intent_training_data(quick: bool = False, seed: int = 42) -> tuple[pd.DataFrame, list[str]]:
    """``(labelled data, out-of-scope calibration texts)`` for the intent task.

    The off-topic training messages are a class of their own; every third one (seeded) is held back
    from the class and given to the gate as calibration texts instead, so that the gate is tuned on
    off-topic messages the classifier has not seen. The held-out OOS evaluation set is never used.
    """
    df = intent.intent_dataset()
    oos_rows = df.index[df["label"] == intent.OUT_OF_SCOPE].to_numpy()
    rng = pd.Series(oos_rows).sample(frac=1.0, random_state=seed).to_numpy()
    calibration = sorted(rng[::3].tolist())
    oos_texts = df.loc[calibration, "text"].tolist()
    df = df.drop(index=calibration).reset_index(drop=True)
    if quick:
        df = _quick_intent_sample(df, seed)
    return df, oos_texts


def _quick_intent_sample(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    # Every out-of-scope example is kept (they teach rejection); the rest is capped per label and language.
    oos = df["label"].eq(intent.OUT_OF_SCOPE)
    parts = [df[oos]]
    for lang, cap in (("en", QUICK_EN_PER_INTENT), ("zh", QUICK_ZH_PER_INTENT)):
        parts.append(cap_per_label(df[~oos & df["lang"].eq(lang)], cap, seed))
    return pd.concat(parts).sort_index().reset_index(drop=True)


def _sample(df: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    if len(df) <= n:
        return df
    strata = df["label"] + "/" + df["lang"]
    sample = df.groupby(strata, group_keys=False).sample(frac=n / len(df), random_state=seed)
    sample.attrs = df.attrs
    return sample.sort_index().reset_index(drop=True)


def _category_data(items: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """``(data, None)``, or ``(empty, why the category task cannot be trained on these items)``."""
    if len(items) == 0 or not items["category"].fillna("").astype(str).str.strip().ne("").any():
        return pd.DataFrame(), "the workspace has no products with a category (import a store: " \
                               "`shopsense import DIR`)"
    frame = category.category_dataset(items)
    if frame["label"].nunique() < 2:
        return frame, (f"the workspace's products fall into {frame['label'].nunique()} category (rare ones "
                       f"merged into {category.OTHER!r}); at least two are needed")
    return frame, None


def _load_store(settings: Settings) -> Any:
    from shopsense.core.store import Store

    with Store.from_settings(settings) as store:
        return store.load()


def train_builtin(settings: Settings, tasks: Sequence[str] | None = None, quick: bool = False,
                  on_step: Callable[[str], None] | None = None,
                  promote: bool | None = None) -> dict[str, ModelVersion]:
    """Train the built-in tasks into ``Registry(settings.artifacts_dir)``; returns the new versions.

    A task whose production version was trained on the same data, options and code is skipped (not in the
    result). A task trained on packaged data only is trained once per machine and reused from
    ``settings.builtin_cache``. ``promote``: None promotes a task's first version only; False never.

    ``tasks`` None means every task the workspace can train: ``category`` is skipped (with a message)
    when the workspace has no categorised products. Raises :class:`BuiltinTrainingError`, before
    training anything, for an unknown task or an explicitly requested task that cannot be trained.
    """

    step = on_step or (lambda message: log.info(message))
    explicit = tasks is not None
    wanted = list(dict.fromkeys(tasks if tasks is not None else TASKS))
    unknown = [t for t in wanted if t not in TASKS]
    if unknown:
        raise BuiltinTrainingError(f"unknown built-in task(s) {', '.join(map(repr, unknown))}; "
                                   f"choose from {', '.join(TASKS)}")
    settings.ensure_dirs()
    store = _load_store(settings) if ("sentiment" in wanted or "category" in wanted) else None
    data: dict[str, tuple[pd.DataFrame, dict[str, Any]]] = {}
    if "category" in wanted:
        frame, problem = _category_data(store.items if store is not None else pd.DataFrame())
        if problem and explicit:
            raise BuiltinTrainingError(f"category: {problem}")
        if problem:
            step(f"category: skipped: {problem}")
            wanted.remove("category")
        else:
            if quick:
                frame = _sample(frame, QUICK_CATEGORY_ROWS, settings.seed)
            data["category"] = (frame, {"source": f"workspace items (category level {frame.attrs['level']})",
                                        "encoder_backend": category_backend(frame)})
    packaged_only = {"intent"}
    if "sentiment" in wanted:
        reviews = store.reviews if store is not None else None
        own = sentiment.workspace_sentiment(reviews)
        if len(own) >= MIN_STORE_REVIEWS_FOR_SENTIMENT:
            frame = sentiment.sentiment_dataset(reviews, seed=settings.seed)
            source = f"shipped review samples (en, zh) + {len(own)} workspace reviews"
        else:
            frame = sentiment.sentiment_dataset(None, seed=settings.seed)
            source = (f"shipped review samples (en, zh); the workspace's {len(own)} rated reviews are fewer than "
                      f"{MIN_STORE_REVIEWS_FOR_SENTIMENT}, too few to change the model")
            packaged_only.add("sentiment")
        if quick:
            frame = _sample(frame, QUICK_SENTIMENT_ROWS, settings.seed)
        data["sentiment"] = (frame, {"source": source})
    if "intent" in wanted:
        frame, oos_texts = intent_training_data(quick=quick, seed=settings.seed)
        data["intent"] = (frame, {"source": "bitext + shopping intents + out-of-scope (en, zh)",
                                  "oos_texts": oos_texts})

    versions: dict[str, ModelVersion] = {}
    registry = Registry(settings.artifacts_dir)
    for name in wanted:
        frame, extra = data[name]
        options = {**RECIPES[name].options(), **(QUICK_OPTIONS if quick else {}), **extra}
        key = _cache_key(name, frame, options, settings.seed)
        current = _current_card(registry, name)
        if current is not None and current.get("builtin_key") == key:
            step(f"{name}: unchanged since {registry.production_version(name)} (same data, code and encoder)")
            continue
        cached = settings.builtin_cache / f"{name}-{key}" if name in packaged_only else None
        if cached is not None and (cached / CARD_FILE).exists():
            step(f"{name}: reusing the model trained on the packaged data ({cached})")
            versions[name] = _publish_cached(registry, name, cached)
            continue
        step(f"{name}: {len(frame)} examples, {frame['label'].nunique()} labels"
             f"{' (quick sample)' if quick else ''}")
        versions[name] = _train(name, frame, options, key, registry, settings,
                                lambda message, name=name: step(f"{name}: {message}"))
        if cached is not None:
            _save_to_cache(versions[name], cached)
    for name, version in versions.items():
        if promote or (promote is None and registry.production_version(name) is None):
            registry.promote(name, version.version)
    return versions


def _train(name: str, frame: pd.DataFrame, options: dict[str, Any], key: str, registry: Registry,
           settings: Settings, step: Callable[[str], None]) -> ModelVersion:
    from shopsense.nlp.training import fit_task, publish_task


    trained = fit_task(name, frame, "text", "label", seed=settings.seed, cache_dir=str(settings.cache_dir),
                       on_step=step, **options)
    trained.card["builtin_key"] = key
    return publish_task(trained, registry, promote=False)


def _cache_key(name: str, frame: pd.DataFrame, options: dict[str, Any], seed: int) -> str:
    """What a built-in model depends on: its data, options, encoder, seed and the shopsense version."""
    import hashlib
    import json

    import shopsense
    from shopsense.nlp.training import content_sha256

    shown = {k: (content_sha256(v, v) if k == "oos_texts" else v) for k, v in options.items() if k != "source"}
    payload = json.dumps([CACHE_FORMAT, name, shopsense.__version__, _code_digest(), seed, shown,
                          content_sha256(frame["text"].tolist(), frame["label"].tolist())], sort_keys=True,
                         default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _code_digest() -> str:
    """The source of the code a built-in head depends on: a change to it trains the head again."""
    import hashlib

    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for relative in ("nlp/classifier.py", "nlp/training.py", "nlp/selection.py", "nlp/tfidf.py", "nlp/ensemble.py",
                     "nlp/routed.py", "nlp/builtin", "text/encoder.py",
                     "text/model_files.py", "core/cleaning.py", "core/pii.py"):
        target = root / relative
        for path in sorted(target.rglob("*.py")) if target.is_dir() else [target]:
            if path.exists():
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _current_card(registry: Registry, name: str) -> dict[str, Any] | None:
    try:
        return registry.get(name, "production").card if registry.production_version(name) else None
    except LookupError:
        return None


def _publish_cached(registry: Registry, name: str, cached: Path) -> ModelVersion:
    import json
    import shutil

    card = json.loads((cached / CARD_FILE).read_text(encoding="utf-8"))
    with registry.staging(name) as stage:
        for path in cached.iterdir():
            if path.name != CARD_FILE:
                (shutil.copytree if path.is_dir() else shutil.copy2)(path, stage.path / path.name)
        stage.card = {k: v for k, v in card.items() if k not in ("files", "version", "model", "created_at")}
        stage.card["reused_from_cache"] = str(cached)
    assert stage.version is not None
    return stage.version


def _save_to_cache(version: ModelVersion, cached: Path) -> None:
    import shutil

    from shopsense.core.atomic import atomic_directory

    if cached.exists():
        return
    with atomic_directory(cached) as tmp:
        for path in version.path.iterdir():
            (shutil.copytree if path.is_dir() else shutil.copy2)(path, tmp / path.name)
