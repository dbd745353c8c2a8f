"""Ad copy for an item: N checked variants for a channel, language and tone.

:class:`CopyWriter` builds grounded drafts from the item's facts (:mod:`~shopsense.marketing.copy_templates`),
lets the configured :class:`~shopsense.text.generator.Generator` rephrase them (the template backend keeps
them as they are), and runs :class:`~shopsense.marketing.copy_checks.CopyChecker` on every result:
a text with an unsupported claim, number, superlative or banned word has the offending sentences removed,
and if that is not possible the variant is rejected (a language model's text falls back to its grounded
draft). Near-duplicate variants are dropped. Every variant lists the facts it used and its check results.

Channels: ``headline`` (<= 30 characters), ``short`` (<= 90), ``description`` (<= 500); ``en`` or ``zh``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from shopsense.core.language import cjk_count, is_cjk
from shopsense.marketing.copy_checks import CHANNEL_LIMITS, DEFAULT_BANNED, CopyChecker, repair, similarity
from shopsense.marketing.copy_facts import (
    Highlight,
    ItemFacts,
    attribute_item_facts,
    highlights_from_reviews,
    highlights_from_summary,
    item_facts,
)
from shopsense.marketing.copy_templates import TONES, Draft, attribute_drafts_zh, chinese_drafts, english_drafts
from shopsense.nlp.lexicon import FUNCTION_WORDS_EN

LANGUAGES = ("en", "zh")
_TASKS = {
    "headline": "Write a product headline of at most {limit} characters",
    "short": "Write a short ad of at most {limit} characters",
    "description": "Write a product description of at most {limit} characters",
}
_MAX_TOKENS = {"headline": 24, "short": 60, "description": 220}


class CopyError(ValueError):
    """A copy request that cannot be served (unknown item, channel, language or tone), naming the field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field, self.message = field_name, message


@dataclass
class CopyVariant:
    """One publishable text, the facts it rests on, and what the checks found and fixed."""

    text: str
    backend: str
    facts: list[dict[str, Any]]
    checks: dict[str, Any]
    fallback_used: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "length": len(self.text), "backend": self.backend,
                "fallback_used": self.fallback_used, "facts": self.facts, "checks": self.checks}


@dataclass
class CopyResult:
    """The variants written for one request, plus the candidates that were rejected and why."""

    item_id: str
    title: str
    channel: str
    language: str
    tone: str
    backend: str
    variants: list[CopyVariant] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    highlights: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "title": self.title, "channel": self.channel, "language": self.language,
                "tone": self.tone, "backend": self.backend, "limit": CHANNEL_LIMITS[self.channel],
                "variants": [v.as_dict() for v in self.variants], "rejected": self.rejected,
                "highlights": self.highlights}


def validate_request(channel: str, language: str, tone: str, n: int) -> None:
    """Raise :class:`CopyError` naming the first bad field."""
    if channel not in CHANNEL_LIMITS:
        raise CopyError("channel", f"must be one of {', '.join(CHANNEL_LIMITS)}, not {channel!r}")
    if language not in LANGUAGES:
        raise CopyError("language", f"must be one of {', '.join(LANGUAGES)}, not {language!r}")
    if tone not in TONES:
        raise CopyError("tone", f"must be one of {', '.join(TONES)}, not {tone!r}")
    if not 1 <= n <= 10:
        raise CopyError("n", f"must be between 1 and 10, not {n}")


_STOPWORDS = FUNCTION_WORDS_EN
_WORD_RE = re.compile(r"[a-z][a-z'-]{2,}")
NOVEL_WORD_LIMIT = 0.34


def model_text_violations(text: str, draft: str, facts: ItemFacts, language: str,
                          required: Sequence[str]) -> list[str]:
    """What a language model's text does beyond the checker's rules: it must name the product, be in the
    requested language, and say little the facts and the draft do not (a third of its content words at most,
    or of its Chinese character pairs), so a fluent invention cannot pass for a rephrasing."""
    found = []
    folded = text.casefold()
    if required and not any(r.casefold() in folded for r in required if r):
        found.append("the product is not named")
    cjk = cjk_count(text)
    letters = sum(ch.isalpha() for ch in text) or 1
    if language == "zh" and cjk < 2:
        found.append("not written in Chinese")
    if language == "en" and cjk / letters > 0.2:
        found.append("not written in English")
    source = (facts.facts.corpus() + "\n" + draft).casefold()
    if language == "zh":
        pairs = {text[i:i + 2] for i in range(len(text) - 1) if all(is_cjk(c) for c in text[i:i + 2])}
        novel = sorted(p for p in pairs if p not in source)
        share = len(novel) / len(pairs) if pairs else 0.0
    else:
        words = [w.strip("'-") for w in _WORD_RE.findall(folded) if w not in _STOPWORDS]
        novel = sorted({w for w in words if w and w not in source})
        share = len([w for w in words if w in novel]) / len(words) if words else 0.0
    if share > NOVEL_WORD_LIMIT:
        found.append(f"{share:.0%} of the wording is not in the facts ({', '.join(novel[:6])})")
    return found


class CopyWriter:
    """Writes checked copy variants for items; ``generator`` is any shopsense text generator (None: templates)."""

    def __init__(self, generator: Any = None, banned_words: Sequence[str] = DEFAULT_BANNED,
                 dedupe_threshold: float = 0.6, temperature: float = 0.7) -> None:
        self.generator = generator
        self.banned_words = banned_words
        self.dedupe_threshold = dedupe_threshold
        self.temperature = temperature

    @property
    def backend(self) -> str:
        return getattr(self.generator, "name", "template") if self.generator is not None else "template"

    @staticmethod
    def _required(facts: ItemFacts) -> list[str]:
        """Names a repaired text must still contain: the product's (its first two words will do)."""
        return [facts.short_name, " ".join(facts.title.split()[:2])]

    def drafts(self, facts: ItemFacts, channel: str, language: str, tone: str) -> list[Draft]:
        limit = CHANNEL_LIMITS[channel]
        build = chinese_drafts if language == "zh" else english_drafts
        return build(facts, channel, tone, limit)

    def _rephrase(self, draft: Draft, facts: ItemFacts, channel: str, language: str, tone: str, seed: int,
                  checker: CopyChecker) -> tuple[str, bool, dict[str, Any]]:
        """(text, fallback_used, extra check info) for a language-model backend."""
        task = _TASKS[channel].format(limit=CHANNEL_LIMITS[channel]) + f", in a {tone} tone, about the product."
        max_tokens = _MAX_TOKENS[channel] * (2 if language == "zh" else 1)
        gen = self.generator.generate(task, facts.facts, draft.text, language=language, max_tokens=max_tokens,
                                      temperature=self.temperature, seed=seed, banned_words=self.banned_words)
        info: dict[str, Any] = {"model_violations": list(gen.violations)}
        if gen.fallback_used:
            return draft.text, True, info
        text, removed = gen.text, []
        if checker.violations(text):
            info["model_violations"] += checker.violations(text)
            text, removed = repair(text, checker, self._required(facts))
        info["removed"] = removed
        if text:
            guard = model_text_violations(text, draft.text, facts, language, self._required(facts))
            info["model_violations"] += guard
            if guard:
                return draft.text, True, info
        if not text or checker.violations(text):
            return draft.text, True, info
        return text, False, info

    def write(self, facts: ItemFacts, channel: str = "short", language: str = "en", n: int = 3,
              tone: str = "friendly", seed: int = 0, drafts: Sequence[Draft] | None = None) -> CopyResult:
        """``n`` variants (fewer if the facts support fewer distinct texts) for one item; ``drafts``
        replaces the built-in templates (e.g. :func:`attribute_drafts_zh`)."""
        validate_request(channel, language, tone, n)
        checker = CopyChecker(facts.facts, channel, self.banned_words)
        candidates = list(drafts) if drafts is not None else self.drafts(facts, channel, language, tone)
        if seed:
            random.Random(seed).shuffle(candidates)
        result = CopyResult(facts.item_id, facts.title, channel, language, tone, self.backend,
                            highlights=[{"aspect": h.aspect, "quote": h.quote, "source": h.review_id,
                                         "positive": h.positive, "mentions": h.mentions} for h in facts.highlights])
        use_model = self.generator is not None and self.backend != "template"
        words = facts.title.split()
        # Variants of one item all repeat its name and its facts; near-duplicate means the same wording.
        names = [facts.title, facts.brand, *(" ".join(words[:k]) for k in range(len(words), 1, -1)),
                 *(str(f.value) for f in facts.facts.facts if isinstance(f.value, str) and len(f.value) <= 40)]
        for i, draft in enumerate(candidates):
            if len(result.variants) >= n:
                break
            info: dict[str, Any] = {}
            fallback = False
            found = checker.violations(draft.text)
            text, removed = (draft.text, []) if not found else repair(draft.text, checker, self._required(facts))
            if not text:
                result.rejected.append({"text": draft.text, "reason": "failed the checks", "violations": found})
                continue
            if use_model:
                text, fallback, info = self._rephrase(Draft(text, draft.keys), facts, channel, language, tone,
                                                      seed + i, checker)
            twin = next((k for k, v in enumerate(result.variants)
                         if similarity(text, v.text, names) >= self.dedupe_threshold), None)
            if twin is not None:
                result.rejected.append({"text": text, "reason": f"near-duplicate of variant {twin + 1}",
                                        "violations": []})
                continue
            verdict = checker.check(text)
            if not verdict.passed:  # cannot happen for a repaired draft; kept as the last line of defence
                result.rejected.append({"text": text, "reason": "failed the checks", "violations": verdict.violations})
                continue
            checks = {**verdict.as_dict(), "removed": removed + info.get("removed", []),
                      "repaired_violations": found}
            if use_model:
                checks["model_violations"] = info.get("model_violations", [])
            result.variants.append(CopyVariant(text, self.backend, facts.fact_ids(*draft.keys, text=text), checks,
                                                  fallback))
        return result


def build_item_facts(items: pd.DataFrame, reviews: pd.DataFrame | None, item_id: str,
                     summary: dict[str, Any] | None = None, aspects: Sequence[str] | None = None,
                     n_highlights: int = 3) -> ItemFacts:
    """:class:`ItemFacts` for ``item_id`` from a store's tables. Highlights come from an opinion summary
    (:meth:`OpinionIndex.summary`) when given, else from the item's 4-5 star reviews; ``aspects``
    restricts them to the named aspects (the "review highlights to use")."""
    rows = items[items["item_id"] == item_id]
    if rows.empty:
        raise CopyError("item_id", f"unknown item {item_id!r}")
    highlights: list[Highlight]
    if summary is not None:
        highlights = highlights_from_summary(summary, n=50)
    elif reviews is not None and not reviews.empty:
        highlights = highlights_from_reviews(reviews, item_id, n=n_highlights)
    else:
        highlights = []
    if aspects:
        wanted = {a.casefold() for a in aspects}
        highlights = [h for h in highlights if h.aspect and h.aspect.casefold() in wanted]
    titles = [str(t) for t in items["title"].dropna()]
    return item_facts(rows.iloc[0].to_dict(), highlights[:n_highlights], reviews, titles)


def attribute_copy(pairs: Sequence[tuple[str, str]], n: int = 3, tone: str = "friendly", seed: int = 0,
                   generator: Any = None, key: str = "attrs") -> CopyResult:
    """Chinese descriptions from attribute pairs alone (how the AdvertiseGen pairs evaluate the Chinese path)."""
    facts = attribute_item_facts(pairs, key)
    drafts = attribute_drafts_zh(pairs, tone, n=n * 2, seed=seed)
    # the drafts' keys are attribute names; the facts' keys are "<key>:<name>:<value>"
    drafts = [Draft(d.text, [f"{key}:name", *(f":{k}:{v}" for k, v in pairs)]) for d in drafts]
    return CopyWriter(generator=generator).write(facts, "description", "zh", n, tone, seed, drafts=drafts)


def attribute_coverage(text: str, pairs: Sequence[tuple[str, str]]) -> float:
    """Share of the attribute values stated verbatim in ``text`` (AdvertiseGen's ``*`` pairs)."""
    values = list(dict.fromkeys(v for _, v in pairs))
    return sum(v in text for v in values) / len(values) if values else 1.0
