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
from shopsense.nlp.lexicon import FUNCTION_WORDS_EN
from shopsense.search.glossary import expand_chinese_query
from shopsense.text.encoder import get_encoder
from shopsense.text.tokenize import tokenize

_RRF_K = 60
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

    @property
    def explanation(self) -> str | None:
        """Why the item is in the results: which of the two rankings found it."""
        how = [name for name, rank in (("keywords", self.lexical_rank), ("meaning", self.dense_rank)) if rank]
        return f"Matches your search by {' and '.join(how)}." if how else None


def _normalise_tokens(tokens: list[str]) -> list[str]:
    # A light plural folding ("sets" -> "set", "boxes" -> "box") so BM25 matches either form.
    out = []
    for token in tokens:
        if re.fullmatch(r"[a-z]{4,}", token):
            if token.endswith("ies"):
                token = token[:-3] + "y"
            elif token.endswith(("ses", "xes", "zes", "ches", "shes")):
                token = token[:-2]
            elif token.endswith("s") and not token.endswith("ss"):
                token = token[:-1]
        out.append(token)
    return out


def search_tokens(text: str) -> list[str]:
    """The tokens BM25 indexes and queries with (jieba for Chinese, plural-folded English words)."""
    tokens = [t for t in tokenize(text) if t.strip() and re.search(r"\w", t) and t not in _STOPWORDS]
    return _normalise_tokens(tokens)


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
        import bm25s

        catalog = items.reset_index(drop=True)
        # Plain unicode arrays (not object arrays): what save() writes and load() reads back without pickle.
        self.item_ids_ = np.asarray(catalog["item_id"].astype(str).tolist(), dtype=str)
        self.texts_ = [item_text(row) for _, row in catalog.iterrows()]
        self.categories_ = np.asarray(catalog["category"].fillna("").astype(str).tolist(), dtype=str)
        self.prices_ = pd.to_numeric(catalog["price"], errors="coerce").to_numpy(dtype=float)
        self.bm25_ = bm25s.BM25()
        self.bm25_.index([search_tokens(t) or ["<empty>"] for t in self.texts_], show_progress=False)
        self.dense_ = self._encoder(self.dense_backend).encode(self.texts_)
        self.dense_multilingual_: np.ndarray | None = None
        self._category_index = CategoryIndex(self.categories_)
        return self

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

    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None) -> list[SearchHit]:
        """The ``k`` best items for ``query`` among those passing ``filters``; ties go to the smaller id."""
        query = (query or "").strip()
        if not query:
            return []
        mask = self._mask(filters)
        if not mask.any():
            return []
        chinese = detect_language(query) == "zh" or has_cjk(query)
        if chinese:
            query = expand_chinese_query(query)
        lexical = np.asarray(self.bm25_.get_scores(search_tokens(query) or ["<empty>"]), dtype=float)
        use_multilingual = self.multilingual and chinese
        vectors = self._multilingual_vectors() if use_multilingual else self.dense_
        encoder = self._encoder("multilingual" if use_multilingual else self.dense_backend)
        dense = vectors @ encoder.encode([query])[0]
        fused = np.zeros(len(self.item_ids_))
        lexical_rank = self._ranks(lexical, mask, require_positive=True)
        dense_rank = self._ranks(dense, mask, require_positive=False)
        for ranks in (lexical_rank, dense_rank):
            ranked = ranks > 0
            fused[ranked] += 1.0 / (_RRF_K + ranks[ranked])
        order = np.lexsort((self.item_ids_, -fused))
        hits = []
        for i in order:
            if len(hits) == k or fused[i] <= 0:
                break
            hits.append(SearchHit(str(self.item_ids_[i]), float(fused[i]),
                                  int(lexical_rank[i]) or None, int(dense_rank[i]) or None))
        return hits

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
                  "categories": np.asarray(self.categories_, dtype=str), "prices": self.prices_, "dense": self.dense_}
        if self.dense_multilingual_ is not None:
            arrays["dense_multilingual"] = self.dense_multilingual_
        np.savez(directory / "index.npz", **arrays)
        (directory / "config.json").write_text(json.dumps({
            "dense_backend": self.dense_backend, "multilingual": self.multilingual,
            "candidates": self.candidates, "texts": self.texts_}, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, cache_dir: str | Path | None = None) -> ProductSearch:
        """The index :meth:`save` wrote into ``directory``, multilingual vectors included when they were saved."""
        import bm25s

        config = json.loads((Path(directory) / "config.json").read_text(encoding="utf-8"))
        arrays = np.load(Path(directory) / "index.npz", allow_pickle=False)
        search = cls(config["dense_backend"], config["multilingual"], config["candidates"], cache_dir)
        search.item_ids_, search.categories_ = arrays["item_ids"], arrays["categories"]
        search.prices_, search.dense_ = arrays["prices"], arrays["dense"]
        search.texts_ = config["texts"]
        search.bm25_ = bm25s.BM25()
        search.bm25_.index([search_tokens(t) or ["<empty>"] for t in search.texts_], show_progress=False)
        search.dense_multilingual_ = arrays["dense_multilingual"] if "dense_multilingual" in arrays.files else None
        search._category_index = CategoryIndex(search.categories_)
        return search
