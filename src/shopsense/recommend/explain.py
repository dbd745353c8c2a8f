"""Explanations for recommendations, built only from real evidence in the training data.

Reasons, most personal first (an explanation joins the first two that hold):

1. "Because you bought <title>": the item of the user's history (rated 3+ stars or not rated) most
   similar to the recommended one under the model's own item similarity.
2. "Matches what you wrote about <aspect> and <aspect>": aspects (product nouns such as "tone", "build
   quality") that the user mentioned in their own reviews and that the item's text or reviews mention too.
3. "Reviewers praise its <aspect> (92% positive)": counted over the item's review sentences mentioning
   the aspect; a mention is positive when the sentence's sentiment is positive (or neutral in a 4-5 star
   review). Shown only with at least ``MIN_MENTIONS`` mentions and a positive share of at least 70%.
4. For items nobody has interacted with yet: "New in <category>, like things you viewed" (the verb the
   shopper's history holds); else
   "Rated 4.6/5 by 23 reviewers" or "Popular in <category>" when those hold.

Aspect vocabulary: nouns and noun-noun compounds that spaCy tags in a seeded sample of the store's
reviews (the tagger only, so it stays fast), matched everywhere with plain token lookups.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from shopsense.core.atomic import write_text_atomic
from shopsense.core.language import has_cjk
from shopsense.core.wording import short_name
from shopsense.recommend.base import Recommendation, Recommender
from shopsense.recommend.dataset import InteractionDataset
from shopsense.recommend.filters import Filters

MIN_MENTIONS = 3
PRAISE_SHARE = 0.7
_SAMPLE_DOCS = 400
_TOKEN = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
# Nouns that are not product aspects: the product itself, people, occasions, time, quantities.
_GENERIC = frozenset(
    """product item thing things star stars review reviews amazon money time lot lots bit way one
ones problem problems price purchase buy order people years year months month days day week weeks hour hours
minute minutes nothing something anything everything someone anyone everyone use uses need needs job
part parts
piece pieces kind sort type stuff dollar dollars deal issue issues reason fact case point end side set number
couple hand hands place while recommend gift gifts card cards present idea bunch million thank thanks person
seller customer customers friend friends family member members wife husband son daughter mom mother dad father
kid kids child children grandson granddaughter grandchildren brother sister boyfriend girlfriend niece nephew
parent parents recipient guy guys teacher boss holiday holidays birthday birthdays christmas graduation
anniversary occasion occasions home college school work""".split()
)
_SENTIMENT_WORD = 1.8  # nouns that carry sentiment themselves ("love", "fun") are opinions, not aspects
_EVIDENCE_FILE = "explain_evidence.json"


# ------------------------------------------------------------------ aspect vocabulary
def _tagger() -> object:
    from shopsense.nlp.lexicon import english_pipeline

    return english_pipeline(("parser", "ner"))


def _vader_lexicon() -> dict[str, float]:
    from shopsense.nlp.lexicon import vader_lexicon

    return vader_lexicon()


def aspect_vocabulary(texts: Sequence[str], seed: int = 0, max_docs: int = _SAMPLE_DOCS) -> dict[str, str]:
    """Surface form -> aspect for nouns (and noun-noun compounds as ``"a b"``) frequent in ``texts``."""
    docs = [t for t in texts if t and t.strip() and not has_cjk(t)]
    if not docs:
        return {}
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(docs), size=min(max_docs, len(docs)), replace=False)
    df: Counter[str] = Counter()
    surface: dict[str, str] = {}
    try:
        nlp = _tagger()
    except OSError:  # the spaCy model is not installed: explanations fall back to the other reasons
        return {}
    for doc in nlp.pipe((docs[i][:800] for i in sorted(pick)), batch_size=64):
        seen: set[str] = set()
        toks = [t for t in doc if t.is_alpha]
        for n, tok in enumerate(toks):
            if tok.pos_ != "NOUN":
                continue
            lemma = tok.lemma_.lower()
            surface[tok.lower_] = lemma
            seen.add(lemma)
            if n + 1 < len(toks) and toks[n + 1].pos_ == "NOUN":
                seen.add(f"{lemma} {toks[n + 1].lemma_.lower()}")
                surface[f"{tok.lower_} {toks[n + 1].lower_}"] = f"{lemma} {toks[n + 1].lemma_.lower()}"
        df.update(seen)
    min_df = max(3, int(0.01 * len(pick)))
    lexicon = _vader_lexicon()
    keep = {
        a
        for a, c in df.items()
        if c >= min_df
        and len(a) >= 3
        and not set(a.split()) & _GENERIC
        and not any(abs(lexicon.get(w, 0.0)) >= _SENTIMENT_WORD for w in a.split())
    }
    return {s: a for s, a in surface.items() if a in keep}


def mentions(text: str, vocab: dict[str, str]) -> set[str]:
    """Aspects of ``vocab`` mentioned in ``text`` (compounds win over their parts)."""
    toks = _TOKEN.findall(text.lower())
    found: set[str] = set()
    skip = -1
    for n, tok in enumerate(toks):
        if n + 1 < len(toks) and f"{tok} {toks[n + 1]}" in vocab:
            found.add(vocab[f"{tok} {toks[n + 1]}"])
            skip = n + 1
        elif n != skip and tok in vocab:
            found.add(vocab[tok])
    return found


# ------------------------------------------------------------------ evidence
@dataclass
class Evidence:
    """What explanations may cite, keyed by ids so it survives fold-ins and save/load.

    ``item_aspects[item_id][aspect] = [positive, total]`` review-sentence mentions; ``item_terms`` the
    aspects in the item's text or reviews; ``user_aspects[user_id][aspect]`` mentions in the user's reviews.
    """

    item_aspects: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    item_terms: dict[str, list[str]] = field(default_factory=dict)
    user_aspects: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def build(cls, dataset: InteractionDataset,
              sentiment: Callable[[Sequence[str]], np.ndarray] | None = None) -> Evidence:
        from shopsense.recommend.features import catalog_texts, lexicon_sentiment

        sentiment = sentiment or lexicon_sentiment
        rev = dataset.reviews
        texts = rev["text"].fillna("").astype(str).tolist() if len(rev) else []
        catalog = catalog_texts(dataset.items)
        vocab = aspect_vocabulary(texts + [c for c in catalog if c])
        ev = cls()
        if not vocab:
            return ev
        for item_id, text in zip(map(str, dataset.item_ids), catalog, strict=True):
            terms = mentions(text, vocab)
            if terms:
                ev.item_terms[item_id] = sorted(terms)
        rows: list[tuple[str, str, str, float]] = []  # item, user, sentence, stars
        for r in rev.itertuples(index=False):
            for sent in _SENTENCE.split(str(r.text or "")):
                if mentions(sent, vocab):
                    rows.append(
                        (str(dataset.item_ids[r.item_idx]), str(dataset.user_ids[r.user_idx]), sent,
                         float(r.rating))
                    )
        polarity = (
            np.asarray(sentiment([s for _, _, s, _ in rows]), dtype=np.float64) if rows else np.zeros(0)
        )
        for (item, user, sent, stars), pol in zip(rows, polarity, strict=True):
            positive = pol >= 0.05 or (abs(pol) < 0.05 and stars >= 4)
            for aspect in mentions(sent, vocab):
                pos_tot = ev.item_aspects.setdefault(item, {}).setdefault(aspect, [0, 0])
                pos_tot[0] += int(positive)
                pos_tot[1] += 1
                user_counts = ev.user_aspects.setdefault(user, {})
                user_counts[aspect] = user_counts.get(aspect, 0) + 1
        for item, aspects in ev.item_aspects.items():
            ev.item_terms[item] = sorted(set(ev.item_terms.get(item, [])) | set(aspects))
        return ev

    def save(self, directory: Path) -> None:
        """Write ``explain_evidence.json`` atomically."""
        payload = json.dumps(
            {
                "item_aspects": self.item_aspects,
                "item_terms": self.item_terms,
                "user_aspects": self.user_aspects,
            },
            sort_keys=True,
        )
        write_text_atomic(directory / _EVIDENCE_FILE, payload)

    @classmethod
    def load(cls, directory: Path) -> Evidence | None:
        path = directory / _EVIDENCE_FILE
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["item_aspects"], data["item_terms"], data["user_aspects"])


def evidence_for(dataset: InteractionDataset) -> Evidence:
    """The dataset's evidence, built once and kept on the dataset object (it never changes after build)."""
    ev = dataset.__dict__.get("_explain_evidence")
    if ev is None:
        ev = Evidence.build(dataset)
        dataset.__dict__["_explain_evidence"] = ev
    return ev


# ------------------------------------------------------------------ one explanation
@dataclass
class UserContext:
    """Who the explanation is for: their history (item indices, verbs, stars) and their own id."""

    user_id: str | None = None
    history: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    verbs: list[str] = field(default_factory=list)
    stars: np.ndarray = field(default_factory=lambda: np.zeros(0))
    similarity: Callable[[int], np.ndarray] | None = None  # item index -> similarity to every item


_VERB = {
    "purchase": "bought",
    "rating": "bought",
    "cart": "added to your cart",
    "click": "viewed",
    "view": "viewed",
}


def user_context(
    dataset: InteractionDataset,
    user_id: str | None,
    similarity: Callable[[int], np.ndarray] | None,
    recent_item_ids: Sequence[str] | None = None,
) -> UserContext:
    """The :class:`UserContext` of a known user (their dataset history) or of a profile's recent items."""
    ctx = UserContext(user_id=None if user_id is None else str(user_id), similarity=similarity)
    if user_id is not None and str(user_id) in dataset.user_index:
        ctx.history, ctx.verbs, ctx.stars = _histories(dataset)[dataset.user_index[str(user_id)]]
    elif recent_item_ids:
        ctx.history = dataset.known_item_indices(recent_item_ids)
        ctx.verbs = ["viewed"] * len(ctx.history)
        ctx.stars = np.full(len(ctx.history), np.nan)
    return ctx


_NO_HISTORY = (np.zeros(0, dtype=np.int64), [], np.zeros(0))


def _histories(dataset: InteractionDataset) -> dict[int, tuple[np.ndarray, list[str], np.ndarray]]:
    """Every user's history (each item once, its last interaction, oldest first), computed once per dataset
    rather than filtered out of the interaction table on every request."""
    cache = dataset.__dict__.get("_explain_histories")
    if cache is not None:
        return cache
    inter = dataset.interactions.sort_values(["user_idx", "timestamp"], kind="stable")
    inter = inter.drop_duplicates(["user_idx", "item_idx"], keep="last")
    users = inter["user_idx"].to_numpy(np.int64)
    items = inter["item_idx"].to_numpy(np.int64)
    verbs = [_VERB.get(e, "bought") for e in inter["event"]]
    stars = inter["value"].to_numpy(np.float64)
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if len(users) else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(users)]
    cache = {int(users[a]): (items[a:b], verbs[a:b], stars[a:b]) for a, b in zip(starts, ends, strict=True)}
    cache = _DefaultHistories(cache)
    dataset.__dict__["_explain_histories"] = cache
    return cache


class _DefaultHistories(dict):
    def __missing__(self, key: int) -> tuple[np.ndarray, list[str], np.ndarray]:
        return _NO_HISTORY


CITED_NAME_LIMIT = 40  # "Because you bought <name>": the name a shopper recognises, not a 30-word title


def display_name(dataset: InteractionDataset, item_index: int) -> str:
    """The item's short name (:func:`~shopsense.core.wording.short_name`), or ``item <id>`` without a title."""
    title = str(_titles(dataset)[item_index] or "").strip()
    item_id = str(dataset.item_ids[item_index])
    return short_name(title, CITED_NAME_LIMIT) if title and title != item_id else f"item {item_id}"


def _leaf(category: str) -> str:
    parts = [p.strip() for p in str(category or "").split(">") if p.strip()]
    return parts[-1] if parts else ""


def _titles(dataset: InteractionDataset) -> np.ndarray:
    cache = dataset.__dict__.get("_explain_titles")
    if cache is None or len(cache) != dataset.n_items:
        cache = dataset.item_title
        dataset.__dict__["_explain_titles"] = cache
    return cache


def _popularity(dataset: InteractionDataset) -> np.ndarray:
    cache = dataset.__dict__.get("_explain_pop")
    if cache is None or len(cache) != dataset.n_items:
        cache = dataset.item_popularity()
        dataset.__dict__["_explain_pop"] = cache
    return cache


def _leaves(dataset: InteractionDataset) -> np.ndarray:
    cache = dataset.__dict__.get("_explain_leaves")
    if cache is None or len(cache) != dataset.n_items:
        cache = np.asarray([_leaf(c) for c in dataset.item_category], dtype=object)
        dataset.__dict__["_explain_leaves"] = cache
    return cache


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def reasons(item_index: int, ctx: UserContext, evidence: Evidence, dataset: InteractionDataset) -> list[str]:
    """Every reason that holds for recommending ``item_index`` to ``ctx``, most personal first."""
    out: list[str] = []
    item_id = str(dataset.item_ids[item_index])
    liked = np.isnan(ctx.stars) | (ctx.stars >= 3) if len(ctx.history) else np.zeros(0, dtype=bool)
    cold = _popularity(dataset)[item_index] == 0
    if len(ctx.history) and liked.any() and ctx.similarity is not None and not cold:
        sims = np.asarray(ctx.similarity(item_index), dtype=np.float64)[ctx.history]
        sims = np.where(liked & (ctx.history != item_index), sims, -np.inf)
        best = int(np.argmax(sims))
        if np.isfinite(sims[best]) and sims[best] > 0:
            verb = ctx.verbs[best]
            out.append(f"Because you {verb} {display_name(dataset, int(ctx.history[best]))}")
    terms = set(evidence.item_terms.get(item_id, []))
    own = evidence.user_aspects.get(ctx.user_id or "", {})
    common = sorted((a for a in own if a in terms), key=lambda a: (-own[a], a))[:2]
    if common:
        out.append(f"Matches what you wrote about {_join(common)}")
    praised = [
        (a, pos, tot)
        for a, (pos, tot) in evidence.item_aspects.get(item_id, {}).items()
        if tot >= MIN_MENTIONS and pos / tot >= PRAISE_SHARE
    ]
    if praised:
        a, pos, tot = sorted(praised, key=lambda x: (-x[2], -x[1], x[0]))[0]
        out.append(f"Reviewers praise its {a} ({round(100 * pos / tot)}% positive)")
    category = _leaves(dataset)[item_index]
    if cold:
        new = f"New in {category}" if category else "New arrival"
        verbs = set(ctx.verbs) if len(ctx.history) else set()
        # name what the shopper really did: "viewed" only when every item of their history was a view
        out.append(new + (f", like things you {verbs.pop()}" if len(verbs) == 1 else
                          ", like things you chose before" if verbs else ""))
    out.extend(_item_popularity_reasons(dataset)[item_index])
    return out


def _item_popularity_reasons(dataset: InteractionDataset) -> list[tuple[str, ...]]:
    """Per item, the reasons that depend only on the dataset ("Rated 4.6/5 by 12 reviewers", "Popular in
    Puzzles"): computed once per dataset, not per request (an explained list asks for them 10 times)."""
    cache = dataset.__dict__.get("_explain_popular")
    if cache is not None and len(cache) == dataset.n_items:
        return cache
    inter = dataset.interactions
    ratings = inter.loc[inter["event"] == "rating"].dropna(subset=["value"])
    stats = ratings.groupby("item_idx")["value"].agg(["count", "mean"])
    counts = np.zeros(dataset.n_items, dtype=np.int64)
    means = np.zeros(dataset.n_items)
    counts[stats.index.to_numpy(dtype=np.int64)] = stats["count"].to_numpy()
    means[stats.index.to_numpy(dtype=np.int64)] = stats["mean"].to_numpy()
    pop, leaves = _popularity(dataset), _leaves(dataset)
    frame = pd.DataFrame({"leaf": leaves, "pop": pop})
    # rank = 1 + how many items of the same leaf category are strictly more popular
    rank = frame.groupby("leaf")["pop"].rank(method="min", ascending=False).to_numpy()
    size = frame.groupby("leaf")["pop"].transform("size").to_numpy()
    cache = []
    for i in range(dataset.n_items):
        out: list[str] = []
        if counts[i] >= MIN_MENTIONS and means[i] >= 4.0:
            out.append(f"Rated {means[i]:.1f}/5 by {counts[i]} reviewers")
        category = leaves[i]
        if category and pop[i] > 0 and rank[i] <= max(3, int(0.1 * size[i])):
            out.append(f"Popular in {category}")
        cache.append(tuple(out))
    dataset.__dict__["_explain_popular"] = cache
    return cache


def explain(recommendation: Recommendation, user_context: UserContext, evidence: Evidence,
            dataset: InteractionDataset, max_reasons: int = 2) -> str:
    """A short explanation (the first ``max_reasons`` reasons that hold), e.g. "Because you bought X. ..."."""
    idx = dataset.item_index[recommendation.item_id]
    found = reasons(idx, user_context, evidence, dataset)[:max_reasons]
    return ". ".join(found) + "." if found else "Recommended from what shoppers like you chose."


def attach_explanations(model: Recommender, dataset: InteractionDataset, recs: Sequence[Recommendation],
                        user_id: str | None = None, recent_item_ids: Sequence[str] | None = None,
                        evidence: Evidence | None = None) -> list[Recommendation]:
    """``recs``, each with an explanation; works for any model (``item_similarity`` finds "you bought X")."""
    ev = evidence or getattr(model, "evidence_", None) or evidence_for(dataset)

    def similarity(i: int) -> np.ndarray:
        return model.item_similarity(i)

    ctx = user_context(dataset, user_id, similarity, recent_item_ids)
    return [replace(r, explanation=explain(r, ctx, ev, dataset)) for r in recs]


class ExplainingMixin:
    """Gives a recommender explained results (``explain=True``) and keeps its evidence with its files."""

    explain: bool

    def _explained(self, recs: list[Recommendation], user_id: str | None = None,
                   recent_item_ids: Sequence[str] | None = None) -> list[Recommendation]:
        if not self.explain or not recs:
            return recs
        return attach_explanations(self, self.dataset_, recs, user_id, recent_item_ids, self._evidence())

    def _evidence(self) -> Evidence:
        ev = getattr(self, "evidence_", None)
        if ev is None:
            ev = evidence_for(self.dataset_)
            self.evidence_ = ev
        return ev

    def recommend(
        self, user_id: str, k: int = 10, exclude_seen: bool = True, filters: Filters | None = None
    ) -> list[Recommendation]:
        return self._explained(super().recommend(user_id, k, exclude_seen, filters), user_id=user_id)

    def recommend_batch(self, user_ids: Sequence[str], k: int = 10, exclude_seen: bool = True,
                        filters: Filters | None = None, batch_size: int = 512) -> list[list[Recommendation]]:
        lists = super().recommend_batch(user_ids, k, exclude_seen, filters, batch_size)
        return [self._explained(recs, user_id=u) for u, recs in zip(user_ids, lists, strict=True)]

    def recommend_for_profile(
        self,
        recent_item_ids: Sequence[str] | None = None,
        query: str | None = None,
        k: int = 10,
        filters: Filters | None = None,
        exclude_seen: bool = True,
    ) -> list[Recommendation]:
        recs = super().recommend_for_profile(recent_item_ids, query, k, filters, exclude_seen)
        return self._explained(recs, recent_item_ids=recent_item_ids)

    def _save_evidence(self, directory: Path) -> None:
        if self.explain:
            self._evidence().save(directory)

    def _load_evidence(self, directory: Path) -> None:
        ev = Evidence.load(directory)
        if ev is not None:
            self.evidence_ = ev


TRENDING = "Trending in the store right now."


def trending(recommendation: Recommendation) -> Recommendation:
    """A popular pick shown in place of a personal one (cold start, or a list cut short by filters)."""
    from dataclasses import replace

    text = recommendation.explanation or ""
    if not text or text.startswith("Recommended from"):
        text = TRENDING
    return replace(recommendation, explanation=text)


__all__ = ["TRENDING", "Evidence", "ExplainingMixin", "UserContext", "attach_explanations", "evidence_for",
           "explain", "reasons", "trending", "user_context"]
