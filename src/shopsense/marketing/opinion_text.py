"""Sentences, clauses and aspect terms of review text, in English (spaCy noun chunks) and Chinese (jieba).

An *aspect term* is what a clause talks about: in English the lemma of a noun chunk's head plus any
compound nouns before it ("battery life", "instruction"), in Chinese a jieba noun of two or more
characters ("质量", "包装"). Generic words that name the product itself, the buyer's family or time
("toy", "son", "christmas") are not aspects: they are dropped by :data:`EN_GENERIC` / :data:`ZH_GENERIC`.

A sentence is cut into clauses at contrast words ("but", "however", "但是", "不过") so that "great
value but the box was damaged" scores *value* and *box* separately.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from shopsense.core.cleaning import clean_text
from shopsense.core.language import has_han

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


_nlp_lock = threading.Lock()


def _spacy() -> Any:
    from shopsense.nlp.lexicon import english_pipeline

    # Only the parser (noun chunks) and lemmatizer are needed; NER costs a third of the time.
    return english_pipeline(("ner",))


def _en_terms(doc: Any) -> tuple[str, ...]:
    terms: list[str] = []
    for chunk in doc.noun_chunks:
        root = chunk.root
        if root.pos_ not in ("NOUN", "PROPN") or root.like_num:
            continue
        lemma = root.lemma_.lower()
        if not lemma.isalpha() or len(lemma) < 3 or lemma in EN_GENERIC:
            continue
        # Keep compound nouns in front of the head ("battery life", "remote control"), not adjectives.
        compounds = [t.lemma_.lower() for t in chunk if t.dep_ == "compound" and t.i < root.i and t.is_alpha
                     and t.pos_ in ("NOUN", "PROPN") and t.lemma_.lower() not in EN_GENERIC
                     and t.lemma_.lower() not in EN_EVALUATIVE]
        term = " ".join([*compounds[-1:], lemma])
        if term not in terms:
            terms.append(term)
    return tuple(terms)


def _zh_terms(text: str) -> tuple[str, ...]:
    import jieba.posseg as pseg

    from shopsense.text.tokenize import get_jieba

    terms: list[str] = []
    for pair in pseg.POSTokenizer(get_jieba()).lcut(text):
        word, flag = pair.word.strip(), pair.flag
        noun = flag in _ZH_NOUN_FLAGS or word in ZH_ASPECT_VERBS
        if noun and len(word) >= 2 and has_han(word) and word not in ZH_GENERIC and word not in terms:
            terms.append(word)
    return tuple(terms)


def review_clauses(texts: Sequence[str], langs: Sequence[str] | None = None,
                   batch_size: int = 256) -> list[list[Clause]]:
    """Per review text: its clauses with the aspect terms each mentions (clauses without terms included)."""
    langs = list(langs) if langs is not None else [language_of(t) for t in texts]
    per_review: list[list[tuple[int, str, str]]] = []
    for text, lang in zip(texts, langs, strict=True):
        rows = []
        for s_idx, sentence in enumerate(split_sentences(text, lang)):
            for clause in split_clauses(sentence, lang):
                rows.append((s_idx, sentence, clause))
        per_review.append(rows)
    en_jobs = [(r, i) for r, rows in enumerate(per_review) if langs[r] != "zh" for i in range(len(rows))]
    en_terms: dict[tuple[int, int], tuple[str, ...]] = {}
    if en_jobs:
        with _nlp_lock:  # one spaCy pipeline per process; pipe() is not re-entrant across threads
            docs = _spacy().pipe((per_review[r][i][2] for r, i in en_jobs), batch_size=batch_size)
            for key, doc in zip(en_jobs, docs, strict=True):
                en_terms[key] = _en_terms(doc)
    out: list[list[Clause]] = []
    for r, rows in enumerate(per_review):
        clauses = []
        for i, (s_idx, sentence, clause) in enumerate(rows):
            terms = _zh_terms(clause) if langs[r] == "zh" else en_terms.get((r, i), ())
            clauses.append(Clause(s_idx, sentence, clause, terms))
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

