"""Description audit: what an item's description leaves out, how readable it is, a suggested rewrite, and
a ranking of the items that would gain most from a better one.

Per item (:meth:`DescriptionAuditor.audit`):

- *uncovered aspects*: aspects its reviewers talk about (from the :class:`~.aspects.OpinionIndex`) that
  the description never mentions under any of the aspect's merged terms;
- *missing attributes*: attribute keys that at least ``min_share`` of its ``n_neighbours`` most similar
  items have (MiniLM embeddings of title + category) and it lacks; and attributes it has that the
  description does not state;
- *readability*: words, sentences, words per sentence, Flesch reading ease (English; Chinese gets
  characters per sentence), with a length verdict against ``min_words`` / ``max_words``;
- a *suggested rewrite* built only from the item's own facts (title, brand, the description's
  sentences, its attributes) and review evidence (aspects praised in at least two positive mentions).

The gain score ranks items: ``(1 + log1p(reviews)) * gap``, where the gap adds 1 per uncovered aspect
weighted by its share of the item's mentions (x3), 0.1 per missing attribute, the readability shortfall
below Flesch 50 (0..1), the length shortfall (0..1) and 2 for an empty description. Items that shoppers
talk about more gain more from fixing the same gap.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shopsense.core.language import cjk_count
from shopsense.core.wording import counted
from shopsense.marketing.aspects import OpinionIndex
from shopsense.marketing.opinion_text import language_of, mentions_term, split_sentences

MIN_PRAISING_REVIEWS = 2  # distinct reviews behind a "Reviewers praise its ..." suggestion

# Attribute keys that record provenance or stock, not product facts a shopper reads.
# min_age_months repeats recommended_age as a number; shipping weight describes the parcel.
INTERNAL_KEYS = re.compile(r"^(asin|source_.*|best_sellers_rank|first_available|stock|model_number|min_age_months|"
                           r"shipping_weight|.*_(g|cm))$")
_VOWELS = re.compile(r"[aeiouy]+")


@dataclass
class ItemAudit:
    """The audit of one item's description."""

    item_id: str
    title: str
    score: float
    reviews: int
    uncovered_aspects: list[dict[str, Any]] = field(default_factory=list)
    missing_attributes: list[str] = field(default_factory=list)
    unstated_attributes: list[str] = field(default_factory=list)
    readability: dict[str, Any] = field(default_factory=dict)
    issues: list[str] = field(default_factory=list)
    suggested_rewrite: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _syllables(word: str) -> int:
    word = word.lower()
    count = len(_VOWELS.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee")) and count > 1:
        count -= 1  # silent final e
    return max(1, count)


def readability(text: str) -> dict[str, Any]:
    """Words, sentences, words per sentence and Flesch reading ease (0-100, higher is easier; English)."""
    sentences = split_sentences(text)
    if language_of(text) == "zh":
        chars = cjk_count(text)
        return {"language": "zh", "characters": chars, "sentences": len(sentences),
                "chars_per_sentence": round(chars / max(1, len(sentences)), 1), "flesch": None}
    words = re.findall(r"[A-Za-z]+(?:'[a-z]+)?", text)
    if not words:
        return {"language": "en", "words": 0, "sentences": 0, "words_per_sentence": 0.0, "flesch": None}
    n_sent = max(1, len(sentences))
    syllables = sum(_syllables(w) for w in words)
    flesch = 206.835 - 1.015 * (len(words) / n_sent) - 84.6 * (syllables / len(words))
    return {"language": "en", "words": len(words), "sentences": n_sent,
            "words_per_sentence": round(len(words) / n_sent, 1), "flesch": round(flesch, 1)}


def _public_attributes(attrs: Any) -> dict[str, Any]:
    if not isinstance(attrs, dict):
        return {}
    return {k: v for k, v in attrs.items() if not INTERNAL_KEYS.match(k) and v not in (None, "", [], {})}


def _attribute_words(key: str) -> list[str]:
    return [w for w in key.lower().split("_") if len(w) > 2 and w not in ("required", "included", "use")]


class DescriptionAuditor:
    """Audits item descriptions against reviews and similar items; ranks the items that would gain most."""

    def __init__(self, n_neighbours: int = 10, min_share: float = 0.5, min_words: int = 40, max_words: int = 300,
                 max_aspects: int = 8, min_store_mentions: int = 3, cache_dir: str | None = None) -> None:
        self.n_neighbours = n_neighbours
        self.min_share = min_share
        self.min_words = min_words
        self.max_words = max_words
        self.max_aspects = max_aspects
        self.min_store_mentions = min_store_mentions
        self.cache_dir = cache_dir

    def fit(self, items: pd.DataFrame, opinions: OpinionIndex) -> DescriptionAuditor:
        from shopsense.text.encoder import get_encoder

        self.items_ = items.reset_index(drop=True)
        self.index_ = {str(i): n for n, i in enumerate(self.items_["item_id"])}
        texts = [f"{t}. {c}" for t, c in zip(self.items_["title"], self.items_["category"].fillna(""), strict=True)]
        vectors = get_encoder("onnx", cache_dir=self.cache_dir).encode(texts)
        k = min(self.n_neighbours, max(0, len(texts) - 1))
        sims = vectors @ vectors.T
        np.fill_diagonal(sims, -np.inf)
        self.neighbours_ = np.argsort(-sims, axis=1)[:, :k] if k else np.zeros((len(texts), 0), dtype=int)
        self.keys_ = [set(_public_attributes(a)) for a in self.items_["attributes"]]
        self.opinions_ = opinions
        # Aspects seen fewer than min_store_mentions times in the whole store are mostly parsing noise.
        common = opinions.mentions["aspect"].value_counts()
        self.common_ = set(common[common >= self.min_store_mentions].index)
        self.tables_ = {str(i): t[t["aspect"].isin(self.common_)]
                        for i, t in opinions.aspect_table(by="item").groupby("item_id")}
        return self

    def audit(self, item_id: str) -> ItemAudit:
        """The audit of one item (``KeyError`` naming the item when it is not in the catalog)."""
        if item_id not in self.index_:
            raise KeyError(f"unknown item {item_id!r}")
        n = self.index_[item_id]
        row = self.items_.iloc[n]
        description = str(row.get("description") or "")
        table = self.tables_.get(item_id, pd.DataFrame(columns=["aspect", "mentions", "positive", "negative"]))
        total = int(table["mentions"].sum()) if len(table) else 0
        uncovered = []
        for r in table.itertuples():
            terms = self.opinions_.groups.get(r.aspect, [r.aspect])
            if not mentions_term(description, terms) and not mentions_term(str(row["title"]), terms):
                uncovered.append({"aspect": r.aspect, "mentions": int(r.mentions), "positive": int(r.positive),
                                  "negative": int(r.negative)})
        uncovered = sorted(uncovered, key=lambda u: (-u["mentions"], u["aspect"]))[: self.max_aspects]
        missing = self._missing_attributes(n)
        attrs = _public_attributes(row.get("attributes"))
        unstated = [k for k in attrs if isinstance(attrs[k], str | int | float) and not isinstance(attrs[k], bool)
                    and not mentions_term(description, [str(attrs[k])] + _attribute_words(k))]
        read = readability(description)
        reviews = int(self.opinions_.select(item_id=item_id)["review_id"].nunique())
        issues, gap = self._gaps(description, read, uncovered, total, missing)
        return ItemAudit(item_id=item_id, title=str(row["title"]), score=round((1 + math.log1p(reviews)) * gap, 4),
                         reviews=reviews, uncovered_aspects=uncovered, missing_attributes=missing,
                         unstated_attributes=unstated, readability=read, issues=issues,
                         suggested_rewrite=self._rewrite(row, attrs, table))

    def rank(self, top: int = 20) -> list[ItemAudit]:
        """The ``top`` items that would gain most from a better description (highest score first)."""
        audits = [self.audit(str(i)) for i in self.items_["item_id"]]
        return sorted(audits, key=lambda a: (-a.score, a.item_id))[:top]

    def _missing_attributes(self, n: int) -> list[str]:
        neighbours = self.neighbours_[n]
        if not len(neighbours):
            return []
        counts: dict[str, int] = {}
        for j in neighbours:
            for key in self.keys_[j]:
                counts[key] = counts.get(key, 0) + 1
        need = self.min_share * len(neighbours)
        return sorted(k for k, c in counts.items() if c >= need and k not in self.keys_[n])

    def _gaps(self, description: str, read: dict[str, Any], uncovered: list[dict[str, Any]], total: int,
              missing: list[str]) -> tuple[list[str], float]:
        issues: list[str] = []
        gap = 0.0
        if not description.strip():
            issues.append("no description")
            gap += 2.0
        if uncovered and total:
            weight = sum(u["mentions"] for u in uncovered) / total
            gap += 3 * weight
            issues.append("reviewers talk about " + ", ".join(u["aspect"] for u in uncovered[:5])
                          + " but the description never mentions it")
        if missing:
            gap += 0.1 * len(missing)
            issues.append(f"similar items state {', '.join(missing[:5])}; this one does not")
        words = read.get("words", read.get("characters", 0)) or 0
        if description.strip() and words < self.min_words:
            gap += 1 - words / self.min_words
            issues.append(f"short: {words} words (aim for {self.min_words}-{self.max_words})")
        elif words > self.max_words:
            gap += 0.5
            issues.append(f"long: {words} words (aim for at most {self.max_words})")
        flesch = read.get("flesch")
        if flesch is not None and flesch < 50:
            gap += min(1.0, (50 - flesch) / 50)
            issues.append(f"hard to read: Flesch {flesch} (50+ reads easily)")
        return issues, round(gap, 4)

    def _rewrite(self, row: pd.Series, attrs: dict[str, Any], table: pd.DataFrame) -> str:
        title, brand = str(row["title"]).strip(), str(row.get("brand") or "").strip()
        parts = [f"{title}{f' by {brand}' if brand and brand.lower() not in title.lower() else ''}."]
        kept = [s for s in split_sentences(str(row.get("description") or ""))
                if len(s.split()) <= 30 and title.lower() not in s.lower()]
        parts += [s if s[-1] in ".!?" else s + "." for s in kept[:3]]
        if len(table):
            praised = table[(table["positive"] >= 2) & (table["positive"] > table["negative"])
                            & ~table["aspect"].map(lambda a: bool(brand) and a.lower() in brand.lower())]
            praised = praised.sort_values(["positive", "aspect"], ascending=[False, True]).head(3)
            if len(praised):
                names = [str(a) for a in praised["aspect"]]
                reviews = int(self.opinions_.select(item_id=str(row["item_id"]))
                              .query("aspect in @names and polarity == 'positive'")["review_id"].nunique())
                joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
                if reviews >= MIN_PRAISING_REVIEWS:  # one shopper's opinion is not "reviewers praise"
                    parts.append(f"Reviewers praise its {joined} ({counted(reviews, 'review')}).")
        specs = [f"{k.replace('_', ' ')}: {v}" for k, v in attrs.items()
                 if isinstance(v, str | int | float) and not isinstance(v, bool)][:6]
        flags = [k.replace("_", " ") for k, v in attrs.items() if v is True][:3]
        if specs or flags:
            parts.append("Details: " + "; ".join(specs + flags) + ".")
        return " ".join(parts)
