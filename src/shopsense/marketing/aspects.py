"""Review intelligence: aspect mentions with sentiment, merged synonyms, aggregates, trends and summaries.

Pipeline (:func:`build_opinions`): every review is split into sentences and clauses
(:mod:`.opinion_text`); each clause's aspect terms (English noun chunks, Chinese jieba nouns, less the
store's :class:`~.opinion_text.StopList`: generic nouns, its brands, its ``insights_stop_terms``) are
mapped to a canonical aspect by :class:`AspectMerger` (terms whose embeddings are close are one aspect:
"colour"/"color", "instruction"/"instruction manual"); each clause is scored by the store's
fine-tuned ``sentiment`` task (VADER/SnowNLP when none is trained), corrected by the clause rules of
:mod:`.opinion_rules` (requirements and advice are not praise, wishes are criticism, negation). The result, an
:class:`OpinionIndex`, holds one row per (clause, aspect) mention and answers per item / brand /
category tables, time trends and praised/criticised summaries with quotes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from shopsense.core.pii import mask_pii
from shopsense.marketing.opinion_rules import ClausePolarity
from shopsense.marketing.opinion_text import StopList, language_of, mentions_term, review_clauses

POLARITIES = ("negative", "neutral", "positive")
MENTION_COLUMNS = ("review_id", "item_id", "brand", "category", "timestamp", "rating", "lang", "sentence", "clause",
                   "term", "aspect", "polarity", "confidence")
GROUPS = {"item": "item_id", "brand": "brand", "category": "category"}


class SentimentModel(Protocol):
    """Anything with ``predict_with_confidence(texts)`` returning objects with ``label`` and ``confidence``."""

    def predict_with_confidence(self, texts: Sequence[str]) -> list[Any]: ...


@dataclass(frozen=True)
class _Scored:
    label: str
    confidence: float


class LexiconSentiment:
    """Sentence sentiment from VADER (English) / SnowNLP (Chinese): the fallback and the baseline.

    ``threshold`` is VADER's customary +-0.05 compound cut-off for neutral.
    """

    def __init__(self, threshold: float = 0.05) -> None:
        self.threshold = threshold

    def predict_with_confidence(self, texts: Sequence[str]) -> list[_Scored]:
        from shopsense.nlp.lexicon import lexicon_sentiment

        polarity = lexicon_sentiment(list(texts))
        out = []
        for p in polarity:
            label = "positive" if p >= self.threshold else "negative" if p <= -self.threshold else "neutral"
            out.append(_Scored(label, float(abs(p)) if label != "neutral" else float(1 - abs(p))))
        return out


class AspectMerger:
    """Maps aspect terms to canonical aspects: terms whose sentence embeddings have cosine similarity
    ``>= threshold`` to a more frequent term join that term's aspect (greedy, most frequent first,
    so the canonical name is the commonest wording). English terms use MiniLM (``encoder_backend``),
    Chinese terms the multilingual E5 encoder with ``zh_threshold``: E5 puts any two short Chinese words
    at cosine 0.85-0.9 (包装/物流 0.887), true synonyms at 0.92+ (质量/品质 0.957, 物流/快递 0.921)."""

    def __init__(self, threshold: float = 0.78, zh_threshold: float = 0.92, encoder_backend: str = "onnx",
                 cache_dir: str | None = None) -> None:
        self.threshold = threshold
        self.zh_threshold = zh_threshold
        self.encoder_backend = encoder_backend
        self.cache_dir = cache_dir

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"threshold": self.threshold, "zh_threshold": self.zh_threshold,
                "encoder_backend": self.encoder_backend, "cache_dir": self.cache_dir}

    def _embed(self, terms: list[str]) -> np.ndarray:
        from shopsense.text.encoder import get_encoder

        out = np.zeros((len(terms), 0), dtype=np.float32)
        zh = [i for i, t in enumerate(terms) if language_of(t) == "zh"]
        en = [i for i, t in enumerate(terms) if language_of(t) != "zh"]
        parts = {}
        for idx, backend in ((en, self.encoder_backend), (zh, "multilingual")):
            if idx:
                parts[backend] = (idx, get_encoder(backend, cache_dir=self.cache_dir).encode([terms[i] for i in idx]))
        dim = max((v.shape[1] for _, v in parts.values()), default=0)
        out = np.zeros((len(terms), dim), dtype=np.float32)
        for idx, vectors in parts.values():
            out[idx, : vectors.shape[1]] = vectors  # en and zh never merge: their rows are compared separately
        return out

    def fit(self, terms: Sequence[str], counts: Sequence[int] | None = None) -> AspectMerger:
        freq = Counter(dict(zip(terms, counts, strict=True))) if counts is not None else Counter(terms)
        ordered = sorted(freq, key=lambda t: (-freq[t], len(t), t))
        vectors = self._embed(ordered) if ordered else np.zeros((0, 1), dtype=np.float32)
        langs = [language_of(t) for t in ordered]
        heads: list[int] = []
        mapping: dict[str, str] = {}
        for i, term in enumerate(ordered):
            best, best_sim = None, self.zh_threshold if langs[i] == "zh" else self.threshold
            same = [h for h in heads if langs[h] == langs[i]]
            if same:
                sims = vectors[same] @ vectors[i]
                j = int(np.argmax(sims))
                if sims[j] >= best_sim:
                    best = same[j]
            if best is None:
                heads.append(i)
                mapping[term] = term
            else:
                mapping[term] = ordered[best]
        self.canonical_ = mapping
        groups: dict[str, list[str]] = {}
        for term in ordered:
            groups.setdefault(mapping[term], []).append(term)
        self.groups_ = groups
        return self

    def transform(self, terms: Sequence[str]) -> list[str]:
        return [self.canonical_.get(t, t) for t in terms]


@dataclass
class OpinionIndex:
    """Aspect mentions of a store's reviews (one row per clause x aspect) and the queries over them."""

    mentions: pd.DataFrame
    groups: dict[str, list[str]] = field(default_factory=dict)  # canonical aspect -> the terms merged into it
    model: str = ""  # which sentiment model scored the clauses

    def select(self, item_id: str | None = None, brand: str | None = None,
               category: str | None = None) -> pd.DataFrame:
        """Mentions of one item, brand or category (prefix match on the category path), or all."""
        m = self.mentions
        if item_id is not None:
            m = m[m["item_id"] == item_id]
        if brand is not None:
            m = m[m["brand"].str.lower() == brand.lower()]
        if category is not None:
            m = m[m["category"].str.lower().str.startswith(category.lower())]
        return m

    def aspect_table(self, by: str | None = None, min_mentions: int = 1, **where: str | None) -> pd.DataFrame:
        """Counts per aspect (and per ``by`` in item | brand | category): mentions, positive, neutral,
        negative, negative_share, net (positive minus negative share), reviews."""
        if by and by not in GROUPS:
            raise ValueError(f"by must be one of {', '.join(GROUPS)}, not {by!r}")
        m = self.select(**where)
        keys = ([GROUPS[by]] if by else []) + ["aspect"]
        if m.empty:
            return pd.DataFrame(columns=[*keys, "mentions", *POLARITIES, "negative_share", "net", "reviews"])
        counts = pd.crosstab([m[k] for k in keys], m["polarity"]).reindex(columns=list(POLARITIES), fill_value=0)
        counts.columns = list(POLARITIES)
        counts["mentions"] = counts.sum(axis=1)
        counts["reviews"] = m.groupby(keys)["review_id"].nunique()
        counts = counts[counts["mentions"] >= min_mentions].reset_index()
        counts["negative_share"] = (counts["negative"] / counts["mentions"]).round(4)
        counts["net"] = ((counts["positive"] - counts["negative"]) / counts["mentions"]).round(4)
        return counts.sort_values(["mentions", "aspect"], ascending=[False, True]).reset_index(drop=True)[
            [*keys, "mentions", *POLARITIES, "negative_share", "net", "reviews"]]

    def trend(self, freq: str = "Q", aspects: Sequence[str] | None = None, top: int = 5,
              **where: str | None) -> pd.DataFrame:
        """Per period (pandas frequency, default quarters) and aspect: mentions, negative, negative_share.
        ``aspects`` defaults to the ``top`` most mentioned."""
        m = self.select(**where)
        m = m[m["timestamp"].notna()]
        if aspects is None:
            aspects = list(m["aspect"].value_counts().head(top).index)
        m = m[m["aspect"].isin(list(aspects))]
        if m.empty:
            return pd.DataFrame(columns=["period", "aspect", "mentions", "negative", "negative_share"])
        period = m["timestamp"].dt.tz_convert(None).dt.to_period(freq).dt.start_time
        g = m.assign(period=period, neg=(m["polarity"] == "negative").astype(int)).groupby(["period", "aspect"])
        out = g.agg(mentions=("neg", "size"), negative=("neg", "sum")).reset_index()
        out["negative_share"] = (out["negative"] / out["mentions"]).round(4)
        return out

    def quotes(self, aspect: str, polarity: str, n: int = 2, **where: str | None) -> list[str]:
        """Representative sentences for an aspect and polarity: the most confident, of readable length."""
        return representative_quotes(self.select(**where), aspect, polarity, n)

    def summary(self, top: int = 5, n_quotes: int = 2, min_mentions: int = 1, **where: str | None) -> dict[str, Any]:
        """Top praised and top criticised aspects with counts and quotes, for an item/brand/category or all."""
        m = self.select(**where)
        table = self.aspect_table(min_mentions=min_mentions, **where)
        praised = table[table["positive"] > 0].sort_values(["positive", "net", "aspect"],
                                                           ascending=[False, False, True]).head(top)
        criticised = table[table["negative"] > 0].sort_values(["negative", "negative_share", "aspect"],
                                                              ascending=[False, False, True]).head(top)

        def rows(frame: pd.DataFrame, polarity: str) -> list[dict[str, Any]]:
            return [{"aspect": r.aspect, "mentions": int(r.mentions), "positive": int(r.positive),
                     "negative": int(r.negative), "neutral": int(r.neutral),
                     "negative_share": float(r.negative_share), "terms": self.groups.get(r.aspect, [r.aspect])[:6],
                     "quotes": representative_quotes(m, r.aspect, polarity, n_quotes)}
                    for r in frame.itertuples()]

        counts = m["polarity"].value_counts()
        return {"reviews": int(m["review_id"].nunique()), "mentions": int(len(m)),
                "polarity": {p: int(counts.get(p, 0)) for p in POLARITIES}, "model": self.model,
                "praised": rows(praised, "positive"), "criticised": rows(criticised, "negative")}

    def to_parquet(self, path: Any) -> None:
        self.mentions.to_parquet(path, index=False)


def representative_quotes(mentions: pd.DataFrame, aspect: str, polarity: str, n: int = 2) -> list[str]:
    """Up to ``n`` distinct sentences (personal data masked) mentioning ``aspect`` with ``polarity``:
    highest model confidence first, preferring sentences of 30-200 characters."""
    m = mentions[(mentions["aspect"] == aspect) & (mentions["polarity"] == polarity)]
    if m.empty:
        return []
    length = m["sentence"].str.len()
    readable = ((length >= 30) & (length <= 200)).astype(int)
    ranked = m.assign(_readable=readable).sort_values(["_readable", "confidence", "review_id"],
                                                      ascending=[False, False, True])
    out: list[str] = []
    for sentence in ranked["sentence"]:
        quote = mask_pii(sentence)
        if quote not in out:
            out.append(quote)
        if len(out) >= n:
            break
    return out


def build_opinions(reviews: pd.DataFrame, items: pd.DataFrame | None = None, sentiment: SentimentModel | None = None,
                   merger: AspectMerger | None = None, model_name: str = "",
                   stop_terms: Sequence[str] = ()) -> OpinionIndex:
    """The :class:`OpinionIndex` of ``reviews`` (canonical review columns; ``items`` adds brand and category,
    and its brands are never aspects; nor are ``stop_terms``, the store's ``insights_stop_terms``).

    Each clause is scored once by ``sentiment`` (default :class:`LexiconSentiment`) through
    :class:`~.opinion_rules.ClausePolarity`; every aspect it mentions takes that clause's polarity. A review's
    title is its own sentence when it has a term.
    """
    model_name = model_name or type(sentiment or LexiconSentiment()).__name__
    scorer = ClausePolarity(sentiment or LexiconSentiment())
    has_brands = items is not None and "brand" in items
    brands = items["brand"].dropna() if has_brands else ()
    titles = zip(items["brand"], items["title"], strict=True) if has_brands and "title" in items else ()
    reviews = reviews.reset_index(drop=True)
    texts = [_review_text(t, b) for t, b in zip(reviews.get("title", pd.Series([""] * len(reviews))),
                                                 reviews["text"], strict=True)]
    langs = [language_of(t) for t in texts]
    clauses = review_clauses(texts, langs, stop=StopList.for_store(brands, stop_terms, titles))
    rows: list[tuple[int, str, str, str, str]] = []  # review row, sentence, clause, term, lang
    for r, found in enumerate(clauses):
        for c in found:
            for term in c.terms:
                rows.append((r, c.sentence, c.text, term, langs[r]))
    if not rows:
        return OpinionIndex(pd.DataFrame(columns=list(MENTION_COLUMNS)), {}, model_name)
    merger = merger or AspectMerger()
    if not hasattr(merger, "canonical_"):
        merger.fit([row[3] for row in rows])
    distinct = list(dict.fromkeys(row[2] for row in rows))
    scored = dict(zip(distinct, scorer.predict_with_confidence(distinct), strict=True))
    meta = _item_meta(items)
    out = pd.DataFrame({
        "review_id": [str(reviews.at[r, "review_id"]) for r, *_ in rows],
        "item_id": [str(reviews.at[r, "item_id"]) for r, *_ in rows],
        "timestamp": pd.to_datetime([reviews.at[r, "timestamp"] for r, *_ in rows], utc=True),
        "rating": [int(reviews.at[r, "rating"]) for r, *_ in rows],
        "lang": [row[4] for row in rows],
        "sentence": [row[1] for row in rows],
        "clause": [row[2] for row in rows],
        "term": [row[3] for row in rows],
        "aspect": merger.transform([row[3] for row in rows]),
        "polarity": [str(scored[row[2]].label) for row in rows],
        "confidence": [round(float(scored[row[2]].confidence), 4) for row in rows],
    })
    out["brand"] = out["item_id"].map(lambda i: meta.get(i, ("", ""))[0])
    out["category"] = out["item_id"].map(lambda i: meta.get(i, ("", ""))[1])
    used = set(out["aspect"])
    groups = {a: terms for a, terms in merger.groups_.items() if a in used}
    return OpinionIndex(out[list(MENTION_COLUMNS)], groups, model_name)


def _review_text(title: Any, body: Any) -> str:
    title = title.strip() if isinstance(title, str) else ""
    body = body.strip() if isinstance(body, str) else ""
    # Titles such as "Five Stars" carry no aspect; a title with one ("Poor instructions") is a sentence of its own.
    if title and not body.lower().startswith(title.lower()):
        sep = "\n" if language_of(title) != "zh" else "。"
        return f"{title}{sep}{body}"
    return body


def _item_meta(items: pd.DataFrame | None) -> dict[str, tuple[str, str]]:
    if items is None or items.empty:
        return {}
    brand = items["brand"].fillna("").astype(str) if "brand" in items else pd.Series("", index=items.index)
    cat = items["category"].fillna("").astype(str) if "category" in items else pd.Series("", index=items.index)
    return {str(i): (b, c) for i, b, c in zip(items["item_id"], brand, cat, strict=True)}


def aspect_polarities(sentences: Sequence[str], aspects: Sequence[str], sentiment: SentimentModel,
                      rules: bool = True) -> list[str]:
    """The polarity of each (sentence, aspect) pair as :func:`build_opinions` assigns it: the sentiment of
    the clause that mentions the aspect (the whole sentence when no clause does), through the clause
    rules of :mod:`.opinion_rules` unless ``rules`` is False (the model's verdict alone)."""
    targets = []
    for clauses, aspect in zip(review_clauses(list(sentences)), aspects, strict=True):
        # The clause the extractor gives the aspect to, else the first that mentions it.
        hit = [c.text for c in clauses if aspect in c.terms] or [
            c.text for c in clauses if mentions_term(c.text, [aspect]) or aspect.lower() in c.text.lower()]
        targets.append(hit[0] if hit else " ".join(dict.fromkeys(c.sentence for c in clauses)))
    distinct = list(dict.fromkeys(targets))
    scored = dict(zip(distinct, ClausePolarity(sentiment, rules).predict_with_confidence(distinct), strict=True))
    return [str(scored[t].label) for t in targets]
