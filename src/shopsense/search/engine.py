"""Hybrid product search: BM25 over catalog text fused with dense vectors, with filters, English and Chinese.

Lexical and dense rankings are fused by reciprocal rank (RRF), which needs no score calibration between
the two. English queries use MiniLM vectors of the catalog; Chinese (or mixed) queries use the
multilingual E5 vectors, built on first use (or ahead with :meth:`ProductSearch.encode_multilingual`, and then
saved with the index), so a Chinese shopper can find products described in English.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from shopsense.core.catalog_filters import CatalogFilter, CategoryIndex
from shopsense.core.language import detect_language, has_cjk
from shopsense.core.wording import singular
from shopsense.nlp.lexicon import FUNCTION_WORDS_EN
from shopsense.search.glossary import expand_chinese_query
from shopsense.search.query_terms import fit_for_child, parse_audience, parse_budget, strip_spans
from shopsense.text.encoder import get_encoder
from shopsense.text.tokenize import tokenize

_RRF_K = 60
# An item found by meaning alone is a match only this close to the query (cosine; MiniLM for English, E5 for
# Chinese, whose similarities are compressed higher): "xyzzy" or "trousers" in a toy shop find nothing.
DENSE_FLOOR = {"onnx": 0.40, "torch": 0.40, "multilingual": 0.82}
# A query whose every word is in this share of the catalog ("toy" in a toy shop) names the whole shop: every
# item passing the filters matches it, ranked as usual.
BROWSE_SHARE = 0.25
_MAX_DESCRIPTION_CHARS = 600
# Function words match nearly every product and would let BM25 rank noise; so do the words of a request.
_STOPWORDS = FUNCTION_WORDS_EN | frozenset(
    "please show want 的 了 和 是 我 我要 我想 想要 有 吗 呢 一个 给 买 要".split())


@dataclass(frozen=True)
class SearchFilters(CatalogFilter):
    """Restrictions on results: a category path prefix, a price range, items to leave out.

    The category and price bounds mean exactly what they mean for recommendations
    (:mod:`shopsense.core.catalog_filters`).
    """

    exclude_item_ids: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class SearchHit:
    """One result: the item, its fused score and the two rankings it came from (None = not ranked)."""

    item_id: str
    score: float
    lexical_rank: int | None
    dense_rank: int | None
    title_words: tuple[str, ...] = ()  # query words in the item's title
    category_words: tuple[str, ...] = ()  # query words in its category path
    meaning: bool = False  # close to the query in meaning
    filters: tuple[str, ...] = ()  # restrictions read from the query words ("under £5", "age 5")
    description_words: tuple[str, ...] = ()  # query words only its description has

    @property
    def explanation(self) -> str | None:
        """Why this item is in the results: the query words in its title and category, or closeness in meaning."""
        parts = []
        if self.title_words:
            parts.append("title has " + ", ".join(f"'{w}'" for w in self.title_words))
        if self.category_words:
            parts.append("category has " + ", ".join(f"'{w}'" for w in self.category_words))
        if self.description_words and not parts:
            parts.append("description mentions " + ", ".join(f"'{w}'" for w in self.description_words))
        if self.meaning and not parts:
            parts.append("close in meaning to your search")
        if not parts and (self.lexical_rank or self.dense_rank):
            parts.append("in the part of the catalog you searched")
        if self.filters:
            parts.append(", ".join(self.filters))
        return ("Matches: " + "; ".join(parts) + ".") if parts else None


def _normalise_tokens(tokens: list[str]) -> list[str]:
    # A light plural folding ("sets" -> "set", "boxes" -> "box") so BM25 matches either form.
    return [singular(token) for token in tokens]


def search_tokens(text: str) -> list[str]:
    """The tokens BM25 indexes and queries with (jieba for Chinese, plural-folded English words)."""
    tokens = [t for t in tokenize(text) if t.strip() and re.search(r"\w", t) and t not in _STOPWORDS]
    return _normalise_tokens(tokens)


def _months(attributes: object, key: str) -> float:
    value = attributes.get(key) if isinstance(attributes, dict) else None
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def item_text(row: pd.Series) -> str:
    """The catalog text a product is found by: title, brand, category and the start of its description."""
    parts = [row.get("title", ""), row.get("brand", ""), str(row.get("category", "")).replace(">", " "),
             str(row.get("description", "") or "")[:_MAX_DESCRIPTION_CHARS]]
    return " . ".join(str(p) for p in parts if isinstance(p, str) and p.strip())


class ProductSearch:
    """Finds catalog items for a free-text query by fusing BM25 and dense rankings, with filters."""

    def __init__(self, dense_backend: str = "onnx", multilingual: bool = True, candidates: int = 200,
                 cache_dir: str | Path | None = None) -> None:
        self.dense_backend = dense_backend
        self.multilingual = multilingual
        self.candidates = candidates
        self.cache_dir = cache_dir

    def fit(self, items: pd.DataFrame) -> ProductSearch:
        """Index the catalog (canonical ``items`` columns)."""
        catalog = items.reset_index(drop=True)
        # Plain unicode arrays (not object arrays): what save() writes and load() reads back without pickle.
        self.item_ids_ = np.asarray(catalog["item_id"].astype(str).tolist(), dtype=str)
        self.texts_ = [item_text(row) for _, row in catalog.iterrows()]
        self.categories_ = np.asarray(catalog["category"].fillna("").astype(str).tolist(), dtype=str)
        self.prices_ = pd.to_numeric(catalog["price"], errors="coerce").to_numpy(dtype=float)
        self.titles_ = np.asarray(catalog["title"].fillna("").astype(str).tolist(), dtype=str)
        attributes = catalog["attributes"] if "attributes" in catalog else pd.Series([{}] * len(catalog))
        self.min_ages_ = np.asarray([_months(a, "min_age_months") for a in attributes], dtype=float)
        self.max_ages_ = np.asarray([_months(a, "max_age_months") for a in attributes], dtype=float)
        self.pieces_ = np.asarray([_months(a, "pieces") for a in attributes], dtype=float)
        self.dense_ = self._encoder(self.dense_backend).encode(self.texts_)
        self.dense_multilingual_: np.ndarray | None = None
        self._derive()
        return self

    def _derive(self) -> None:
        """What is rebuilt from the saved arrays: BM25, the category index, word frequencies, adult items."""
        import bm25s

        corpus = [search_tokens(t) or ["<empty>"] for t in self.texts_]
        # a hit says which of the query's words its title, category or text holds: read once per item, not per query
        self._text_tokens = [frozenset(tokens) for tokens in corpus]
        self._field_tokens: dict[tuple[str, int], frozenset[str]] = {}
        self.bm25_ = bm25s.BM25()
        self.bm25_.index(corpus, show_progress=False)
        self._category_index = CategoryIndex(self.categories_)
        self._document_frequency: dict[str, int] = {}
        for tokens in corpus:
            for token in set(tokens):
                self._document_frequency[token] = self._document_frequency.get(token, 0) + 1
        # What the one child-suitability rule (query_terms.fit_for_child) reads of each item.
        self._rows = [{"title": str(t), "category": str(c), "attributes": {
            k: float(v) for k, v in (("min_age_months", lo), ("max_age_months", hi), ("pieces", n)) if v == v}}
            for t, c, lo, hi, n in zip(self.titles_, self.categories_, self.min_ages_, self.max_ages_, self.pieces_,
                                       strict=True)]

    def _tokens_of(self, field: str, i: int) -> frozenset[str]:
        """The search tokens of item ``i``'s title or category, tokenized the first time a query needs them."""
        tokens = self._field_tokens.get((field, i))
        if tokens is None:
            text = str(self.titles_[i]) if field == "title" else str(self.categories_[i]).replace(">", " ")
            tokens = self._field_tokens[(field, i)] = frozenset(search_tokens(text))
        return tokens

    def _encoder(self, backend: str):
        return get_encoder(backend, cache_dir=self.cache_dir)

    def encode_multilingual(self) -> ProductSearch:
        """Encode the catalog for Chinese queries now rather than on the first one; :meth:`save` keeps the vectors."""
        self._multilingual_vectors()
        return self

    def _multilingual_vectors(self) -> np.ndarray:
        if self.dense_multilingual_ is None:
            self.dense_multilingual_ = self._encoder("multilingual").encode(self.texts_)
        return self.dense_multilingual_

    def _mask(self, filters: SearchFilters | None) -> np.ndarray:
        mask = np.ones(len(self.item_ids_), dtype=bool)
        if filters is None:
            return mask
        mask &= filters.catalog_mask(self._category_index, self.prices_)
        if filters.exclude_item_ids:
            mask &= ~np.isin(self.item_ids_, list(filters.exclude_item_ids))
        return mask

    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None,
               honest: bool = True) -> list[SearchHit]:
        """The ``k`` best items for ``query`` among those passing ``filters``; ties go to the smaller id.

        Price and age words in the query ("under 5 pounds", "for a 5 year old") become filters (tighter than
        ``filters`` only); with ``honest`` (the default) an item found by meaning alone must be close to the
        query (:data:`DENSE_FLOOR`), so a query that matches nothing finds nothing (see :meth:`suggest`)."""
        query = (query or "").strip()
        if not query:
            return []
        query, mask, said = self._query_filters(query, filters)
        if not mask.any():
            return []
        if not query:  # only restrictions ("under £10"): everything they let through, by popularity of text
            order = np.lexsort((self.item_ids_, ~mask))[: int(mask.sum())]
            return [SearchHit(str(self.item_ids_[i]), 0.0, None, None, filters=said) for i in order[:k]]
        chinese = detect_language(query) == "zh" or has_cjk(query)
        if chinese:
            query = expand_chinese_query(query)
        tokens = search_tokens(query)
        lexical = np.asarray(self.bm25_.get_scores(tokens or ["<empty>"]), dtype=float)
        use_multilingual = self.multilingual and chinese
        backend = "multilingual" if use_multilingual else self.dense_backend
        vectors = self._multilingual_vectors() if use_multilingual else self.dense_
        dense = vectors @ self._encoder(backend).encode([query])[0]
        browse = bool(tokens) and all(self._document_frequency.get(t, 0) >= BROWSE_SHARE * len(self.item_ids_)
                                      for t in tokens if t.isascii()) and any(t.isascii() for t in tokens)
        close = dense >= DENSE_FLOOR.get(backend, 0.4)
        fused = np.zeros(len(self.item_ids_))
        lexical_rank = self._ranks(lexical, mask, require_positive=True)
        dense_mask = mask if (browse or not honest) else mask & (close | (lexical > 0))
        dense_rank = self._ranks(dense, dense_mask, require_positive=False)
        for ranks in (lexical_rank, dense_rank):
            ranked = ranks > 0
            fused[ranked] += 1.0 / (_RRF_K + ranks[ranked])
        order = np.lexsort((self.item_ids_, -fused))
        wanted = {t for t in tokens if re.search(r"\w", t)}
        hits = []
        for i in order:
            if len(hits) == k or fused[i] <= 0:
                break
            title = wanted.intersection(self._tokens_of("title", i)) if lexical_rank[i] else set()
            category = wanted.intersection(self._tokens_of("category", i)) if lexical_rank[i] else set()
            described = (wanted.intersection(self._text_tokens[i]) - title - category
                         if lexical_rank[i] and not (title or category) else set())
            hits.append(SearchHit(str(self.item_ids_[i]), float(fused[i]), int(lexical_rank[i]) or None,
                                  int(dense_rank[i]) or None, tuple(sorted(title)), tuple(sorted(category - title)),
                                  bool(close[i]), said, tuple(sorted(described))))
        return hits

    def _query_filters(self, query: str, filters: SearchFilters | None) -> tuple[str, np.ndarray, tuple[str, ...]]:
        """The query without its price and age words, the mask of items passing every filter, and the
        restrictions the words added, in words."""
        budget, audience = parse_budget(query), parse_audience(query)
        said: list[str] = []
        low = filters.min_price if filters else None
        high = filters.max_price if filters else None
        if budget.min_price is not None and (low is None or budget.min_price > low):
            low = budget.min_price
            said.append(f"over £{low:g}")
        if budget.max_price is not None and (high is None or budget.max_price < high):
            high = budget.max_price
            said.append(f"under £{high:g}")
        if low is not None and high is not None and low > high:
            return "", np.zeros(len(self.item_ids_), dtype=bool), tuple(said)
        base = filters or SearchFilters()
        narrowed = SearchFilters(category=base.category, min_price=low, max_price=high,
                                 exclude_item_ids=base.exclude_item_ids)
        mask = self._mask(narrowed)
        if audience.age_months is not None and not np.isnan(self.min_ages_).all():
            age = audience.age_months
            mask &= np.fromiter((fit_for_child(row, age) for row in self._rows), dtype=bool, count=len(self._rows))
            said.append(f"suitable for age {age / 12:g}" if age >= 24 else f"suitable for {age:g} months")
        rest = strip_spans(query, budget.spans + audience.spans)
        rest = re.sub(r"(?i)^\s*(?:cheap|cheapest|budget|affordable)\b|\b(?:cheap|for(?: an?| my)?)\s*$|便宜的?", " ",
                      rest).strip() if said else rest
        return rest, mask, tuple(said)

    def suggest(self, query: str, n: int = 3) -> list[str]:
        """Catalog words close in spelling to the query's words (for "nothing matches"), else the widest
        categories."""
        import difflib

        vocabulary = [w for w, df in self._document_frequency.items() if df >= 2 and w.isalpha() and len(w) > 2]
        found: list[str] = []
        for token in search_tokens(query):
            found += [w for w in difflib.get_close_matches(token, vocabulary, n=n, cutoff=0.75) if w not in found]
        if found:
            return found[:n]
        tops = pd.Series([str(c).split(">")[0].strip() for c in self.categories_ if str(c).strip()]).value_counts()
        return [str(c) for c in tops.index[:n]]

    def similarity(self, query: str, item_ids: list[str]) -> np.ndarray:
        """Cosine between ``query`` and each of ``item_ids`` in the dense (English) space; how close the best
        match really is, which rank fusion hides."""
        index = np.flatnonzero(np.isin(self.item_ids_, item_ids))
        if not len(index) or not query.strip():
            return np.zeros(0, dtype=np.float32)
        return self.dense_[index] @ self._encoder(self.dense_backend).encode([query])[0]

    def _ranks(self, scores: np.ndarray, mask: np.ndarray, require_positive: bool) -> np.ndarray:
        """1-based rank of each allowed item among the top candidates; 0 = not ranked."""
        allowed = np.flatnonzero(mask & (scores > 0)) if require_positive else np.flatnonzero(mask)
        top = allowed[np.lexsort((self.item_ids_[allowed], -scores[allowed]))][: self.candidates]
        ranks = np.zeros(len(scores), dtype=np.int64)
        ranks[top] = np.arange(1, len(top) + 1)
        return ranks

    def save(self, directory: Path) -> None:
        """Write the index into ``directory`` (publish it through the registry for atomicity): the catalog's ids,
        categories, prices and texts, the dense vectors, and the multilingual ones when they have been computed.
        The BM25 index is rebuilt from the texts on :meth:`load`."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {"item_ids": np.asarray(self.item_ids_, dtype=str),
                  "categories": np.asarray(self.categories_, dtype=str), "prices": self.prices_, "dense": self.dense_,
                  "titles": np.asarray(self.titles_, dtype=str), "min_ages": self.min_ages_, "max_ages": self.max_ages_,
                  "pieces": self.pieces_}
        if self.dense_multilingual_ is not None:
            arrays["dense_multilingual"] = self.dense_multilingual_
        np.savez(directory / "index.npz", **arrays)
        (directory / "config.json").write_text(json.dumps({
            "dense_backend": self.dense_backend, "multilingual": self.multilingual,
            "candidates": self.candidates, "texts": self.texts_}, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, cache_dir: str | Path | None = None) -> ProductSearch:
        """The index :meth:`save` wrote into ``directory``, multilingual vectors included when they were saved."""
        config = json.loads((Path(directory) / "config.json").read_text(encoding="utf-8"))
        arrays = np.load(Path(directory) / "index.npz", allow_pickle=False)
        search = cls(config["dense_backend"], config["multilingual"], config["candidates"], cache_dir)
        search.item_ids_, search.categories_ = arrays["item_ids"], arrays["categories"]
        search.prices_, search.dense_ = arrays["prices"], arrays["dense"]
        search.texts_ = config["texts"]
        n = len(search.item_ids_)
        # Indexes saved before titles and ages were kept: titles from the texts, ages unknown (no age filter).
        search.titles_ = (arrays["titles"] if "titles" in arrays.files
                          else np.asarray([t.split(" . ")[0] for t in search.texts_], dtype=str))
        search.min_ages_ = arrays["min_ages"] if "min_ages" in arrays.files else np.full(n, np.nan)
        search.max_ages_ = arrays["max_ages"] if "max_ages" in arrays.files else np.full(n, np.nan)
        search.pieces_ = arrays["pieces"] if "pieces" in arrays.files else np.full(n, np.nan)
        search.dense_multilingual_ = arrays["dense_multilingual"] if "dense_multilingual" in arrays.files else None
        search._derive()
        return search
