"""The hybrid recommender: candidates from several models, re-ranked by LightGBM LambdaRank.

Training never sees validation or test labels. Inside the training data ``D``, each user's latest item
(users with 3+ items) becomes a pseudo-target, and again inside what is left (``pseudo_rounds`` times);
the base models are fitted on each reduced dataset and their candidates (the union of each model's top
``n_candidates``) are labelled by the pseudo-targets. The ranker starts from the z-scores of the base
model that ranks the pseudo-targets best (``prior_weight`` times them, as LightGBM's initial score), so
its trees learn corrections; early stopping on a fifth of the pseudo-queries picks how many. The base
models are then refitted on all of ``D`` and the ranker scores their candidates.

Features of a (user, candidate) pair (see :mod:`shopsense.recommend.features`): every base model's
z-scored score and log-rank, item popularity (all time, recent, around the user's own last activity),
item age and freshness, mean stars and count, share and mean of review sentiment, price and price fit
against the user's usual prices, category and brand match with the user's history, co-occurrence and
text similarity with the user's latest items.

Items outside every candidate list rank below all candidates by their mean normalised rank across the
base models. Items nobody has interacted with (cold) are placed by the text model: each gets the score
at its text-similarity quantile among the warm items, so cold items keep the text model's order.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shopsense.recommend.base import Profile, Recommender, UnsupportedRequest
from shopsense.recommend.dataset import InteractionDataset
from shopsense.recommend.explain import ExplainingMixin
from shopsense.recommend.features import (
    ITEM_STATS,
    PAIR_FEATURES,
    Histories,
    PairContext,
    average_ranks,
    item_stats,
    lexicon_sentiment,
    pair_features,
    pseudo_split,
    score_sentiment,
    training_cache,
)
from shopsense.recommend.text_profile import review_texts

# Names from shopsense.recommend.catalogue (its BASE_MODEL_NAMES are the models a hybrid may use).
DEFAULT_BASES = ("itemknn", "ease", "als", "text_profile", "popular")



def base_model(name: str, params: dict[str, Any]) -> Any:
    """An unfitted candidate generator of the hybrid by its catalogue name (``itemknn``, ``ease``, ``als``, ...)."""
    from shopsense.recommend.catalogue import BASE_MODEL_NAMES, build_recommender

    if name not in BASE_MODEL_NAMES:
        raise ValueError(f"unknown base model {name!r}; choose from {', '.join(BASE_MODEL_NAMES)}")
    return build_recommender(name, params)


def fitted_bases(ds: InteractionDataset, params: dict[str, dict[str, Any]], names: Sequence[str]) -> dict:
    """The base models ``names`` fitted on ``ds`` (from the dataset's cache when already fitted)."""
    cache = training_cache(ds)
    out = {}
    for name in names:
        key = ("base", name, json.dumps(params.get(name, {}), sort_keys=True, default=str))
        if key not in cache:
            cache[key] = base_model(name, params.get(name, {})).fit(ds)
        out[name] = cache[key]
    return out


class Hybrid(ExplainingMixin, Recommender):
    """Re-ranks the union of several models' candidates with a LambdaRank model (see module doc).

    ``base_models`` names the candidate generators; ``base_params`` their hyperparameters (the tuned
    ones, from the evaluation runner). ``n_candidates`` per base model, ``pseudo_rounds`` of nested
    hold-outs, ``prior_weight`` on the best base model's scores; LightGBM ``num_leaves``,
    ``learning_rate``, ``n_estimators`` (a maximum: early stopping), ``min_child_samples``.
    """

    name = "hybrid"
    supports_query = True
    supports_cold_items = True

    def __init__(self, base_models: tuple[str, ...] | list[str] = DEFAULT_BASES,
                 base_params: dict[str, dict[str, Any]] | None = None, n_candidates: int = 100,
                 num_leaves: int = 7, learning_rate: float = 0.05, n_estimators: int = 300,
                 min_child_samples: int = 20, pseudo_rounds: int = 3, prior_weight: float = 0.3,
                 early_stopping_rounds: int = 20, n_bags: int = 3, explain: bool = True, cache_dir: str | None = None,
                 seed: int = 42) -> None:
        self.base_models = tuple(base_models)  # a list after a JSON round trip; one canonical form
        self.base_params = base_params
        self.n_candidates = n_candidates
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.n_estimators = n_estimators
        self.min_child_samples = min_child_samples
        self.pseudo_rounds = pseudo_rounds
        self.prior_weight = prior_weight
        self.early_stopping_rounds = early_stopping_rounds
        self.n_bags = n_bags
        self.explain = explain
        self.cache_dir = cache_dir
        self.seed = seed

    # ------------------------------------------------------------------ fitting
    @property
    def feature_names(self) -> list[str]:
        names = [f"{b}_{kind}" for b in self.base_models for kind in ("z", "log_rank")]
        return names + list(ITEM_STATS) + list(PAIR_FEATURES)

    def _params_of(self, name: str) -> dict[str, Any]:
        params = dict((self.base_params or {}).get(name, {}))
        if name == "text_profile":
            params.update(explain=False, cache_dir=self.cache_dir)
        return params

    def _check(self) -> None:
        if not self.base_models:
            raise ValueError("Hybrid: base_models must name at least one model")
        for name in self.base_models:
            base_model(name, {})  # raises a clear error for an unknown name
        if self.pseudo_rounds < 1:
            raise ValueError(f"Hybrid: pseudo_rounds must be >= 1, got {self.pseudo_rounds}")
        if self.n_candidates < 1:
            raise ValueError(f"Hybrid: n_candidates must be >= 1, got {self.n_candidates}")

    def _review_sentiment(self, ds: InteractionDataset) -> np.ndarray:
        cached = ds.__dict__.get("_review_sentiment")
        if cached is None or len(cached) != len(ds.reviews):
            cached = score_sentiment(lexicon_sentiment, review_texts(ds.reviews)) if len(ds.reviews) else \
                np.zeros(0)
            ds.__dict__["_review_sentiment"] = cached
        return cached

    def _fit(self, dataset: InteractionDataset) -> None:
        self._check()
        params = {n: self._params_of(n) for n in self.base_models}
        x, y, groups = self._training_rows(dataset, params)
        self.bases_ = fitted_bases(dataset, params, self.base_models)
        self._owns_bases = False
        self.item_stats_ = item_stats(dataset, self._review_sentiment(dataset))
        self.best_base_ = self._best_base(x, y)
        self.n_train_queries_ = int(len(groups))
        # A bag of rankers (different seeds, subsamples and early-stopping queries), averaged: one
        # ranker's choices vary noticeably from seed to seed on small stores.
        self.rankers_ = [self._train_ranker(x, y, groups, self.seed + b) for b in range(self.n_bags)] \
            if len(groups) >= 10 else []

    def _best_base(self, x: np.ndarray, y: np.ndarray) -> str:
        """The base model with the best NDCG@10 on the pseudo-targets (ties: the first listed)."""
        if not y.any():
            return self.base_models[0]
        pos = x[y == 1]
        names = self.feature_names
        ndcg = []
        for b in self.base_models:
            rank = np.exp2(pos[:, names.index(f"{b}_log_rank")])
            ndcg.append(float(np.where(rank <= 10, 1.0 / np.log2(rank + 1.0), 0.0).mean()))
        return self.base_models[int(np.argmax(ndcg))]

    def _prior(self, x: np.ndarray) -> np.ndarray:
        """The ranker starts from the best base model's z-scores, so its trees only learn corrections."""
        return self.prior_weight * np.nan_to_num(x[:, self.feature_names.index(f"{self.best_base_}_z")])

    def _train_ranker(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int) -> Any:
        import lightgbm as lgb

        def make(n_estimators: int) -> lgb.LGBMRanker:
            return lgb.LGBMRanker(
                objective="lambdarank", n_estimators=n_estimators, learning_rate=self.learning_rate,
                num_leaves=self.num_leaves, min_child_samples=self.min_child_samples, subsample=0.8,
                subsample_freq=1, colsample_bytree=0.8, reg_lambda=1.0, random_state=seed, n_jobs=1,
                deterministic=True, force_col_wise=True, verbose=-1, lambdarank_truncation_level=20)

        # Early stopping on a seeded fifth of the pseudo-queries chooses how many trees (possibly none
        # that help: then the hybrid stays with the best base model's order).
        query = np.repeat(np.arange(len(groups)), groups)
        held_q = np.random.default_rng(seed).random(len(groups)) < 0.2
        held = held_q[query]
        prior = self._prior(x)
        if not held_q.any() or held_q.all():
            return make(self.n_estimators).fit(x, y, group=groups, init_score=prior).booster_
        probe = make(self.n_estimators).fit(
            x[~held], y[~held], group=groups[~held_q], init_score=prior[~held],
            eval_X=(x[held],), eval_y=(y[held],), eval_group=[groups[held_q]], eval_init_score=[prior[held]],
            eval_at=[10], callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)])
        n_trees = max(1, int(probe.best_iteration_ or self.n_estimators))
        return make(n_trees).fit(x, y, group=groups, init_score=prior).booster_

    def _training_rows(self, dataset: InteractionDataset, params: dict[str, dict[str, Any]],
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Labelled candidate rows from ``pseudo_rounds`` nested hold-outs inside ``dataset`` (cached on it).

        Round 1 holds out each user's latest training item, round 2 the one before (from round 1's data),
        and so on; base models are fitted on each reduced dataset, never on the held-out items.
        """
        cache = training_cache(dataset)
        sentiment = self._review_sentiment(dataset)
        parts = []
        current, rows = dataset, np.arange(len(dataset.reviews))
        for r in range(self.pseudo_rounds):
            if ("inner", r) not in cache:
                inner, users, targets = pseudo_split(current)
                cache[("inner", r)] = (inner, users, targets, rows[inner.__dict__["_review_rows"]])
            inner, users, targets, rows = cache[("inner", r)]
            if len(users) == 0:
                break
            key = ("train", r, json.dumps(params, sort_keys=True, default=str), self.n_candidates)
            if key not in cache:
                bases = fitted_bases(inner, params, self.base_models)
                stats = item_stats(inner, sentiment[rows])
                hist = Histories.of_users(inner, users)
                x, cand = self._candidate_features(inner, bases, stats, hist, users)
                label = (cand[1] == targets[cand[0]]).astype(np.int32)
                has_pos = np.bincount(cand[0], label, minlength=len(users)) > 0
                keep = has_pos[cand[0]]
                groups = np.bincount(cand[0][keep], minlength=len(users))[has_pos]
                cache[key] = (x[keep], label[keep], groups)
            parts.append(cache[key])
            current = inner
        if not parts:
            return np.zeros((0, len(self.feature_names))), np.zeros(0, np.int32), np.zeros(0, np.int64)
        return (np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]))

    # ------------------------------------------------------------------ features
    def _text_vectors(self, bases: dict[str, Recommender]) -> np.ndarray | None:
        tp = bases.get("text_profile")
        return None if tp is None else tp.item_vecs_

    def _base_scores(self, bases: dict[str, Recommender], users: np.ndarray | None, profile: Profile | None,
                     ) -> dict[str, np.ndarray]:
        out = {}
        for name in self.base_models:
            model = bases[name]
            s = model.score_users(users) if profile is None else model.score_profile(profile)[None, :]
            out[name] = np.array(s, dtype=np.float64)
        return out

    def _candidate_features(self, ds: InteractionDataset, bases: dict[str, Recommender], stats: np.ndarray,
                            hist: Histories, users: np.ndarray | None, profile: Profile | None = None,
                            ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Feature rows of every candidate, and (row, item, fallback score of every item) of the batch."""
        scores = self._base_scores(bases, users, profile)
        n_rows = len(hist.items)
        seen = np.zeros((n_rows, ds.n_items), dtype=bool)
        for r, h in enumerate(hist.items):
            seen[r, h] = True
        cand = np.zeros_like(seen)
        parts, borda = [], np.zeros((n_rows, ds.n_items))
        k = min(self.n_candidates, ds.n_items)
        for name in self.base_models:
            s = np.where(seen | ~np.isfinite(scores[name]), -np.inf, scores[name])
            top = np.argpartition(-s, k - 1, axis=1)[:, :k]
            take = np.zeros_like(cand)
            np.put_along_axis(take, top, True, axis=1)
            cand |= take & np.isfinite(s)
            ranks = average_ranks(s)
            borda += ranks / ds.n_items
            finite = np.where(np.isfinite(s), s, np.nan)
            mean = np.nanmean(finite, axis=1, keepdims=True)
            std = np.nanstd(finite, axis=1, keepdims=True)
            parts.append(((finite - mean) / np.maximum(std, 1e-12), np.log2(ranks)))
        cand &= ~seen
        rows, items = np.nonzero(cand)
        feats = [arr[rows, items] for pair in parts for arr in pair]
        ctx = _pair_context(ds, self._text_vectors(bases))
        x = np.column_stack([*feats, stats[items], pair_features(ctx, hist, rows, items)])
        text = scores.get("text_profile")
        if text is not None:
            text = np.where(seen, np.nan, text)
        return x, (rows, items, -borda / len(self.base_models), text)

    def _rank_scores(self, x: np.ndarray, cand: tuple, n_rows: int) -> np.ndarray:
        rows, items, fallback, text = cand
        out = np.array(fallback, dtype=np.float64)
        if len(rows):
            pred = self._prior(x)
            if self.rankers_:
                pred = pred + np.mean([r.predict(x) for r in self.rankers_], axis=0)
            # Candidates above everything else; the rest keep the base models' consensus order below them.
            floor = np.full(n_rows, np.inf)
            np.minimum.at(floor, rows, pred)
            floor[~np.isfinite(floor)] = 0.0
            out = out + floor[:, None] - 2.0
            out[rows, items] = pred
        if text is not None:
            out = self._place_cold_items(out, text)
        return out

    def _place_cold_items(self, scores: np.ndarray, text: np.ndarray) -> np.ndarray:
        """Give items nobody has interacted with the score at their text model's quantile among the others.

        The ranker learned from items with interactions; for cold ones its interaction features say
        nothing. Mapping quantiles keeps the text model's order among cold items and places each at the
        position its text match earns among the warm ones (NaN in ``text`` marks the user's own items).
        """
        cold = self.dataset_.item_popularity() == 0
        if not cold.any() or cold.all():
            return scores
        out = scores.copy()
        for r in range(len(scores)):
            warm = ~cold & np.isfinite(text[r])
            targets = cold & np.isfinite(text[r])
            if not warm.any() or not targets.any():
                continue
            warm_text = np.sort(text[r, warm])
            warm_score = np.sort(scores[r, warm])
            q = np.searchsorted(warm_text, text[r, targets], side="right") / len(warm_text)
            pos = np.clip(np.round(q * (len(warm_score) - 1)).astype(int), 0, len(warm_score) - 1)
            # The tiny text term keeps cold items that land on the same warm score in text order.
            out[r, targets] = warm_score[pos] + 1e-9 * text[r, targets]
        return out

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        ds = self.dataset_
        users = np.asarray(user_indices, dtype=np.int64)
        hist = Histories.of_users(ds, users)
        x, cand = self._candidate_features(ds, self.bases_, self.item_stats_, hist, users)
        return self._rank_scores(x, cand, len(users))

    def score_profile(self, profile: Profile) -> np.ndarray:
        if len(profile.item_indices) == 0:
            if profile.query and "text_profile" in self.bases_:
                return self.bases_["text_profile"].score_profile(profile)
            return super().score_profile(profile)
        if profile.query and "text_profile" not in self.bases_:
            raise UnsupportedRequest("Hybrid without a text_profile base cannot use a text query")
        ds = self.dataset_
        now = float(np.nanmax(ds.interactions["timestamp"].to_numpy(np.float64), initial=0.0))
        hist = Histories.of_profile(profile.item_indices, now)
        plain = Profile(item_indices=profile.item_indices, weights=profile.weights)
        bases = dict(self.bases_)
        x, cand = self._candidate_features(ds, bases, self.item_stats_, hist, None, plain)
        scores = self._rank_scores(x, cand, 1)[0]
        if profile.query:  # the query re-orders by the text model's view of it, mixed by rank
            text = self.bases_["text_profile"].score_profile(profile)
            scores = -(average_ranks(scores[None])[0] + average_ranks(text[None])[0])
        return scores

    def item_similarity(self, item_index: int) -> np.ndarray:
        sims = np.zeros(self.dataset_.n_items)
        for name in ("itemknn", "text_profile", "ease", "als"):
            if name in self.bases_:
                s = np.asarray(self.bases_[name].item_similarity(item_index), dtype=np.float64)
                sims += s / max(float(np.abs(s).max(initial=0.0)), 1e-12)
        return sims

    # ------------------------------------------------------------------ fold-in
    def _own_bases(self) -> None:
        # Base models may be shared with other hybrids fitted on the same data: copy before changing them.
        if not getattr(self, "_owns_bases", True):
            self.bases_ = {n: copy.deepcopy(m) for n, m in self.bases_.items()}
            self._owns_bases = True
        for m in self.bases_.values():
            m._own_state()

    @property
    def supports_fold_in_items(self) -> bool:  # type: ignore[override]
        bases = getattr(self, "bases_", None)
        return bases is not None and all(m.supports_fold_in_items for m in bases.values())

    def _fold_in_users(self, dataset: InteractionDataset, user_indices: np.ndarray) -> None:
        self._own_bases()
        for m in self.bases_.values():
            m._fold_in_users(dataset, user_indices)
            m.dataset_ = dataset
        self.item_stats_[:, 0] = np.log1p(dataset.item_popularity())

    def _fold_in_items(self, dataset: InteractionDataset, item_indices: np.ndarray) -> None:
        self._own_bases()
        for m in self.bases_.values():
            m._fold_in_items(dataset, item_indices)
            m.dataset_ = dataset
        grown = item_stats(dataset, None)
        grown[: len(self.item_stats_), 4:8] = self.item_stats_[:, 4:8]  # review evidence: not in the dataset
        self.item_stats_ = grown

    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> dict[str, Any]:
        best = np.asarray(self.base_models.index(self.best_base_))
        return {"item_stats": self.item_stats_, "best_base": best}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.item_stats_ = np.asarray(state["item_stats"], dtype=np.float64)
        self.best_base_ = self.base_models[int(state["best_base"])]

    def _save_extra(self, directory: Path) -> None:
        for name, m in self.bases_.items():
            m.save(directory / "bases" / name)
        for n, booster in enumerate(self.rankers_):
            booster.save_model(str(directory / f"ranker_{n}.txt"))
        self._save_evidence(directory)

    def _load_extra(self, directory: Path) -> None:
        import lightgbm as lgb

        self.bases_ = {n: Recommender.load(directory / "bases" / n) for n in self.base_models}
        for m in self.bases_.values():
            m.dataset_ = self.dataset_
        self._owns_bases = True
        paths = sorted(directory.glob("ranker_*.txt"), key=lambda p: int(p.stem.split("_")[1]))
        self.rankers_ = [lgb.Booster(model_file=str(p)) for p in paths]
        self._load_evidence(directory)


def _pair_context(ds: InteractionDataset, item_vecs: np.ndarray | None) -> PairContext:
    ctx = ds.__dict__.get("_pair_context")
    if ctx is None or ctx.n_items != ds.n_items or ctx.item_vecs is not item_vecs:
        ctx = PairContext(ds, item_vecs)
        ds.__dict__["_pair_context"] = ctx
    return ctx


def model_specs() -> list:
    """The text and hybrid models for :func:`shopsense.recommend.evaluation.compare_models`."""
    from shopsense.recommend.catalogue import build_recommender
    from shopsense.recommend.specs import ModelSpec, param_grid

    def text_profile(**params: Any) -> Recommender:
        return build_recommender("text_profile", params, explain=False)

    def hybrid(tuned: dict[str, dict[str, Any]], **params: Any) -> Recommender:
        bases = tuple(b for b in DEFAULT_BASES if b in tuned)
        return build_recommender("hybrid", {"base_models": bases, "base_params": {b: tuned[b] for b in bases},
                                            **params}, explain=False)

    return [
        ModelSpec("text_profile", text_profile,
                  param_grid(review_weight=[0.5, 1.0, 2.0], recency_half_life=[None, 365.0],
                             profile_mix=[0.0, 0.5])),
        ModelSpec("hybrid", hybrid,
                  param_grid(n_candidates=[50, 200], prior_weight=[0.0, 0.3, 1.0]),
                  uses_tuned=True, note="LightGBM LambdaRank over the tuned models' candidates"),
    ]


__all__ = ["DEFAULT_BASES", "Hybrid", "model_specs"]
