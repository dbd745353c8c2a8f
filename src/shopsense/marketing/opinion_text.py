"""Sentences, clauses and aspect terms of review text, in English (spaCy) and Chinese (jieba).

An *aspect term* is what a clause talks about: in English the lemma of a common noun heading a noun chunk
plus a compound noun before it ("battery life", "instruction"), in Chinese a jieba noun of two or more
characters ("质量", "包装"). Names are not aspects: a proper noun written as a name ("Brio", "Fender") and
any mention of one of the store's brands are dropped, and so are generic words that name the product
itself, people, time or filler ("toy", "son", "box", "hand") and the store's own stop terms
(:class:`StopList`).

A sentence is cut into clauses at contrast words ("but", "however", "但是", "不过") so that "great
value but the box was damaged" scores *value* and *box* separately; English sentences are also cut at
commas, semicolons, dashes and at "and"/"so" joining two verbs, where both sides are clauses of their own
(a piece without a verb or adjective, "for the price", stays with its neighbour).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from shopsense.core.cleaning import clean_text
from shopsense.core.language import has_han
from shopsense.core.wording import singular

MAX_SENTENCE_CHARS = 400  # longer "sentences" are run-on text without punctuation; their tail adds noise

# Words that are never an aspect of a product: the product itself, people, time, occasions, filler.
EN_GENERIC = frozenset("""
toy toys product products item items thing things one ones lot lots bit way kind sort type set piece pieces
son sons daughter daughters grandson granddaughter grandsons granddaughters grandchildren grandchild child children
kid kids boy boys girl girls baby babies nephew niece husband wife partner friend friends family people person
mum mom dad mother father parent parents brother sister brothers sisters adult adults man woman
year years month months week weeks day days hour hours minute minutes time times age ages today night morning
christmas xmas birthday present presents gift gifts stocking stockings party occasion
amazon seller star stars review reviews order purchase purchases buy i me you he she it we they us them this that
something anything everything nothing someone anyone everyone all none others other lots bunch couple
home house room fun idea ideas end start reason problem issue issues opinion expectation expectations
addition side job fan fans lover lovers thank thanks lol
box boxes hand hands second seconds half stuff fact sense matter course example instance use question
""".split())
# Evaluative words spaCy sometimes parses as compound nouns ("good quality", "great kit"): not part of a term.
EN_EVALUATIVE = frozenset("good great nice excellent fab fabulous super brilliant amazing lovely lovley quality "
                          "value perfect awesome fantastic best top bad poor cheap".split())
ZH_GENERIC = frozenset("""
东西 商品 产品 宝贝 卖家 买家 孩子 儿子 女儿 朋友 家人 老公 老婆 时间 时候 今天 昨天 感觉 问题 东东 亲们 大家 自己
一个 一次 一下 这个 那个 什么 京东 淘宝 当当 评价 好评 差评 东东 价位 以后 之前 第一 第二 地方 事情 样子 人家
""".split())

_SENT_END = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？；!?…])|\n+")
_GLUED = re.compile(r"([a-z0-9][.!?])([A-Z])")  # "tree.Whilst": a missing space after a full stop
_CONTRAST_EN = re.compile(r"\s*(?:,\s*)?\b(?:but|however|although|though|except|yet|whereas|unfortunately)\b\s*",
                          re.IGNORECASE)
_CONTRAST_ZH = re.compile(r"[，,]?\s*(?:但是|但|不过|可是|然而|就是|只是|却)")
_ZH_CLAUSE = re.compile(r"[，,、]")
_ZH_NOUN_FLAGS = ("n", "nz", "vn", "ng")
# Aspects of online shopping that jieba tags as verbs ("包装" v): kept whatever their tag.
ZH_ASPECT_VERBS = frozenset("包装 物流 服务 发货 送货 配送 做工 安装 售后 快递 客服 质量 手感 音质 续航".split())


@dataclass(frozen=True)
class Clause:
    """One clause of a review sentence and the aspect terms it mentions."""

    sentence_index: int
    sentence: str
    text: str
    terms: tuple[str, ...]


def language_of(text: str) -> str:
    """``"zh"`` when the text has Han characters, else ``"en"`` (aspects are extracted in these two)."""
    return "zh" if has_han(text) else "en"


def split_sentences(text: str | None, lang: str | None = None) -> list[str]:
    """The sentences of a review (cleaned, whitespace collapsed), empty ones dropped."""
    cleaned = clean_text(text or "", keep_newlines=True)
    if not cleaned:
        return []
    lang = lang or language_of(cleaned)
    if lang != "zh":
        cleaned = _GLUED.sub(r"\1 \2", cleaned)
    out = []
    for part in _SENT_END.split(cleaned):
        part = " ".join(part.split())
        if len(part) >= 2 and re.search(r"\w", part):
            out.append(part[:MAX_SENTENCE_CHARS])
    return out


def split_clauses(sentence: str, lang: str | None = None) -> list[str]:
    """Clauses of one sentence, cut at contrast words (the contrast word starts the next clause)."""
    lang = lang or language_of(sentence)
    pattern = _CONTRAST_ZH if lang == "zh" else _CONTRAST_EN
    pieces, last = [], 0
    for match in pattern.finditer(sentence):
        if match.start() > last:
            pieces.append(sentence[last:match.start()])
        last = match.start()
    pieces.append(sentence[last:])
    if lang == "zh":  # Chinese strings one opinion per comma-separated phrase: "客服态度不好，发货慢"
        pieces = [q for p in pieces for q in _ZH_CLAUSE.split(p)]
    clauses = [p.strip(" ,;，") for p in pieces]
    return [c for c in clauses if re.search(r"\w", c)] or [sentence]


_CONTRAST_WORDS = frozenset("but however although though except yet whereas unfortunately".split())
_SOFT_PUNCT = frozenset(", ; : - -- – — ...".split())
_CLAUSE_JOINERS = frozenset({"and", "so"})
_PREDICATE_POS = frozenset({"VERB", "AUX", "ADJ"})
NAME_VALENCE = 2.0  # a noun this emotive in VADER ("love", "joy", "disaster") is a feeling, not an aspect


def _key(term: str) -> str:
    return " ".join(singular(w) for w in term.lower().split())


@dataclass(frozen=True)
class StopList:
    """What is not an aspect in one store: generic nouns (:data:`EN_GENERIC`), the store's own stop terms
    (store.json ``insights_stop_terms``; a term or a head noun, any plural) and its brand names (a
    mention of a brand, "Brio" or "Melissa & Doug", is a name, not a property of a product)."""

    terms: frozenset[str] = EN_GENERIC
    brands: tuple[str, ...] = ()
    _keys: frozenset[str] = field(default=frozenset(_key(t) for t in EN_GENERIC), repr=False)  # singular forms

    @classmethod
    def for_store(cls, brands: Iterable[Any] = (), stop_terms: Iterable[str] = (),
                  titles_by_brand: Iterable[tuple[Any, Any]] = ()) -> StopList:
        """Generic nouns plus ``stop_terms``; ``brands`` as written in the catalog (letters of 3 or more). A brand
        that the titles of other brands' items also use (``titles_by_brand``: (brand, title) pairs) is a common
        noun in this store ("Action" of "action figure", "Rag Doll"), not a name: it stays an aspect."""
        extra = {" ".join(t.lower().split()) for t in stop_terms if isinstance(t, str) and t.strip()}
        names = {" ".join(b.split()) for b in brands if isinstance(b, str) and len(re.sub(r"\W", "", b)) >= 3}
        names -= _common_words(names, titles_by_brand)
        terms = EN_GENERIC | extra
        return cls(terms, tuple(sorted(names, key=lambda b: (-len(b), b))), frozenset(_key(t) for t in terms))

    def blocks(self, term: str) -> bool:
        """Whether ``term`` (or its head noun) is a stop term."""
        head = term.split()[-1] if term.split() else term
        return term in self.terms or head in self.terms or _key(term) in self._keys or _key(head) in self._keys

    @cached_property
    def _brand_pattern(self) -> re.Pattern[str] | None:
        if not self.brands:
            return None
        alternatives = [r"\s+".join("(?:&|and)" if w == "&" else re.escape(w) for w in b.split()) for b in self.brands]
        return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)

    def brand_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of brand mentions in ``text``."""
        pattern = self._brand_pattern
        return [m.span() for m in pattern.finditer(text)] if pattern is not None else []


def _common_words(brands: set[str], titles_by_brand: Iterable[tuple[Any, Any]]) -> set[str]:
    """The brands that at least two items of other brands name in their titles."""
    pairs = [(str(b).strip().lower(), str(t)) for b, t in titles_by_brand if isinstance(t, str)]
    common = set()
    for brand in brands:
        pattern = re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in brand.split()) + r"(?!\w)", re.I)
        if sum(1 for owner, title in pairs if owner != brand.lower() and pattern.search(title)) >= 2:
            common.add(brand)
    return common


DEFAULT_STOP = StopList.for_store()
_nlp_lock = threading.Lock()


def _spacy() -> Any:
    from shopsense.nlp.lexicon import english_pipeline

    # Only the parser (noun chunks, clause joints), tagger and lemmatizer are needed; NER costs a third.
    return english_pipeline(("ner",))


def _is_name(tok: Any) -> bool:
    # spaCy tags lower-case words in noisy review text PROPN too, and shouted ones ("NOT A GUITAR CASE"); only a
    # capitalised one ("Brio", "Planet Waves") is written as a name.
    return tok.pos_ == "PROPN" and tok.is_title


def _aspect_noun(tok: Any) -> bool:
    from shopsense.nlp.lexicon import vader_lexicon

    lemma = tok.lemma_.lower()
    return (tok.pos_ in ("NOUN", "PROPN") and not _is_name(tok) and tok.is_alpha and not tok.like_num
            and len(lemma) >= 3 and abs(vader_lexicon().get(lemma, 0.0)) < NAME_VALENCE)


def _en_terms(chunks: Iterable[Any], stop: StopList, brand_tokens: set[int]) -> tuple[str, ...]:
    terms: list[str] = []
    for chunk in chunks:
        root = chunk.root
        if root.i in brand_tokens or not _aspect_noun(root):
            continue
        lemma = root.lemma_.lower()
        if stop.blocks(lemma):
            continue
        # Keep compound nouns in front of the head ("battery life", "remote control"), not adjectives or names.
        compounds = [t.lemma_.lower() for t in chunk if t.dep_ == "compound" and t.i < root.i
                     and t.i not in brand_tokens and _aspect_noun(t) and not stop.blocks(t.lemma_.lower())
                     and t.lemma_.lower() not in EN_EVALUATIVE]
        term = " ".join([*compounds[-1:], lemma])
        if not stop.blocks(term) and term not in terms:
            terms.append(term)
    return tuple(terms)


def _stands_alone(tokens: Sequence[Any]) -> bool:
    return any(t.pos_ in _PREDICATE_POS for t in tokens)


def _en_clauses(doc: Any) -> list[tuple[int, int]]:
    """Token ranges of the clauses of one parsed sentence: hard cuts before contrast words, soft cuts after
    commas/semicolons/dashes and before "and"/"so" joining verbs, a soft piece kept only if both sides can
    stand alone (have a verb or an adjective)."""
    cuts: dict[int, bool] = {}  # token index a clause starts at -> hard cut
    for tok in doc:
        low = tok.lower_
        if low in _CONTRAST_WORDS and tok.i > 0 and not (low == "yet" and tok.dep_ == "advmod"
                                                         and tok.head.i > tok.i):
            cuts[tok.i] = True
        elif (low in _SOFT_PUNCT or low.startswith("..")) and 0 < tok.i < len(doc) - 1 and (
                low[0] not in "-–—" or doc[tok.i - 1].whitespace_):  # a dash between spaces, not "v-neck"
            cuts.setdefault(tok.i + 1, False)
        elif low in _CLAUSE_JOINERS and tok.i > 0 and tok.head.pos_ in ("VERB", "AUX"):
            cuts.setdefault(tok.i, False)
    bounds = [0, *sorted(cuts), len(doc)]
    spans = [[a, b, int(cuts.get(a, False))] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    merged: list[list[int]] = []
    for span in spans:
        if merged and not span[2] and (not _stands_alone(doc[merged[-1][0]:merged[-1][1]])
                                       or not _stands_alone(doc[span[0]:span[1]])):
            merged[-1][1] = span[1]  # "For the price, it is great": one clause
        else:
            merged.append(span)
    return [(a, b) for a, b, _ in merged if any(t.is_alpha or t.is_digit for t in doc[a:b])]


def _clause_text(doc: Any, a: int, b: int) -> str:
    return doc[a:b].text.strip(" ,;:-–—")


def _en_sentence_clauses(doc: Any, stop: StopList) -> list[tuple[str, tuple[str, ...]]]:
    brand_tokens = {t.i for a, b in stop.brand_spans(doc.text) for t in doc.char_span(a, b, alignment_mode="expand")}
    ranges = _en_clauses(doc) or [(0, len(doc))]
    chunks = list(doc.noun_chunks)
    out = []
    for a, b in ranges:
        mine = [c for c in chunks if a <= c.root.i < b]
        out.append((_clause_text(doc, a, b) or doc.text, _en_terms(mine, stop, brand_tokens)))
    return out


def _zh_terms(text: str, stop: StopList) -> tuple[str, ...]:
    import jieba.posseg as pseg

    from shopsense.text.tokenize import get_jieba

    terms: list[str] = []
    for pair in pseg.POSTokenizer(get_jieba()).lcut(text):
        word, flag = pair.word.strip(), pair.flag
        noun = flag in _ZH_NOUN_FLAGS or word in ZH_ASPECT_VERBS
        if (noun and len(word) >= 2 and has_han(word) and word not in ZH_GENERIC and word not in stop.terms
                and word not in terms):
            terms.append(word)
    return tuple(terms)


def review_clauses(texts: Sequence[str], langs: Sequence[str] | None = None, batch_size: int = 256,
                   stop: StopList | None = None) -> list[list[Clause]]:
    """Per review text: its clauses with the aspect terms each mentions (clauses without terms included).
    ``stop`` is the store's :class:`StopList` (default: generic nouns only)."""
    stop = stop or DEFAULT_STOP
    langs = list(langs) if langs is not None else [language_of(t) for t in texts]
    sentences = [split_sentences(text, lang) for text, lang in zip(texts, langs, strict=True)]
    en_jobs = [(r, s) for r, found in enumerate(sentences) if langs[r] != "zh" for s in range(len(found))]
    en_clauses: dict[tuple[int, int], list[tuple[str, tuple[str, ...]]]] = {}
    if en_jobs:
        with _nlp_lock:  # one spaCy pipeline per process; pipe() is not re-entrant across threads
            docs = _spacy().pipe((sentences[r][s] for r, s in en_jobs), batch_size=batch_size)
            for key, doc in zip(en_jobs, docs, strict=True):
                en_clauses[key] = _en_sentence_clauses(doc, stop)
    out: list[list[Clause]] = []
    for r, found in enumerate(sentences):
        clauses = []
        for s_idx, sentence in enumerate(found):
            if langs[r] == "zh":
                parts = [(c, _zh_terms(c, stop)) for c in split_clauses(sentence, "zh")]
            else:
                parts = en_clauses.get((r, s_idx), [])
            clauses.extend(Clause(s_idx, sentence, text, terms) for text, terms in parts)
        out.append(clauses)
    return out


def mentions_term(text: str, terms: Iterable[str]) -> bool:
    """Whether ``text`` mentions any of ``terms`` (word-boundary match, simple English plurals allowed)."""
    low = (text or "").lower()
    for term in [terms] if isinstance(terms, str) else terms:
        if not term:
            continue
        if has_han(term):
            if term in low:
                return True
            continue
        stem = re.escape(term.lower()).replace(r"\ ", r"[\s-]+")
        if re.search(rf"\b{stem}(?:s|es)?\b", low) or (term.endswith("y") and re.search(
                rf"\b{re.escape(term[:-1].lower())}ies\b", low)):
            return True
    return False

