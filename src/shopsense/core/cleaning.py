"""Text cleaning for every piece of store text (reviews, titles, descriptions, FAQ answers).

:func:`clean_text` turns scraped or user-typed text into plain, normalised text: HTML tags and
entities resolved, URLs removed, control and invisible characters dropped, Unicode normalised
(NFKC: full-width letters, digits and punctuation become their ASCII forms) and whitespace collapsed.
It is written to be cheap on the common case (plain text skips the HTML and URL passes), so that
cleaning 100k reviews takes seconds; :func:`clean_texts` maps it over a column.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

# Only real HTML tag names are stripped, so that text such as "x<y and z>w" or "<3" survives.
_BLOCK_TAGS = ("br", "p", "div", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
               "hr", "blockquote", "section", "article", "header", "footer", "dd", "dt", "dl", "pre")
_INLINE_TAGS = ("a", "abbr", "b", "big", "cite", "code", "em", "font", "i", "img", "small", "span",
                "strong", "sub", "sup", "u", "s", "strike", "td", "th", "tbody", "thead", "tfoot",
                "center", "label", "nobr", "wbr", "del", "ins", "mark", "q", "tt", "html", "body", "head",
                "meta", "link", "title", "caption", "col", "colgroup", "figure", "figcaption", "picture",
                "source", "video", "audio", "iframe", "input", "button", "form", "select", "option")
_ATTRS = r"(?:\s[^<>]*)?"
_SCRIPT_RE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
_BLOCK_RE = re.compile(rf"<(/?)({'|'.join(_BLOCK_TAGS)}){_ATTRS}/?>", re.IGNORECASE)
# Closing a paragraph-like block leaves a blank line; list items, rows and <br> a single line break.
_PARAGRAPH_TAGS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul",
                             "ol", "section", "article", "pre", "dl"})
_INLINE_RE = re.compile(rf"</?(?:{'|'.join(_INLINE_TAGS)}){_ATTRS}/?>", re.IGNORECASE)

# ASCII-only URL characters: a URL glued to Chinese text ("见http://x.cn/a.html，谢谢") ends at the CJK.
_URL_RE = re.compile(r"(?<![A-Za-z0-9])(?:(?:https?|ftp)://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+",
                     re.IGNORECASE)
_URL_TRAIL = ".,;:!?)]'\""

# C0/C1 controls (tab/newline handled as whitespace), BOM, soft hyphen, zero-width space, direction marks.
# ZWJ/ZWNJ (U+200C/D) are kept: emoji sequences and some scripts need them.
_CONTROL_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad\u200b\u200e\u200f\u202a-\u202e"
                         "\u2060-\u2064\ufeff]")
_SPACES_RE = re.compile(r"[^\S\n]+")
_ALL_WS_RE = re.compile(r"\s+")
_NEWLINES_RE = re.compile(r" *\n[\s]*")


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    # pandas.NA / NaT compare weirdly; they are the only values whose bool() raises or equal nothing.
    return type(value).__name__ in ("NAType", "NaTType")


def _block_break(match: re.Match[str]) -> str:
    closing, tag = match.group(1), match.group(2).lower()
    if closing and tag in _PARAGRAPH_TAGS:
        return "\n\n"
    if closing and tag != "br":
        return ""
    return "\n"


def strip_html(text: str) -> str:
    """Remove HTML tags (block tags become line breaks), comments, scripts and styles; resolve entities."""
    if "<" in text:
        text = _SCRIPT_RE.sub(" ", text)
        text = _COMMENT_RE.sub("", text)
        text = _BLOCK_RE.sub(_block_break, text)
        text = _INLINE_RE.sub("", text)
    if "&" in text:
        text = html.unescape(text)
        # Double-escaped markup ("&lt;br&gt;") only becomes a tag after unescaping.
        if "<" in text:
            text = _BLOCK_RE.sub(_block_break, text)
            text = _INLINE_RE.sub("", text)
    return text


def remove_urls(text: str, replacement: str = " ") -> str:
    """Remove http(s)/ftp/www URLs; trailing sentence punctuation stays in the text."""

    def _sub(match: re.Match[str]) -> str:
        url = match.group(0)
        stripped = url.rstrip(_URL_TRAIL)
        return replacement + url[len(stripped):]

    return _URL_RE.sub(_sub, text)


def clean_text(text: str | None, keep_newlines: bool = False) -> str:
    """Clean one piece of text; ``None``/NaN become ``""``.

    Steps: strip HTML (``<br>``/``</p>`` and other block tags become line breaks, inline tags vanish,
    entities are unescaped), remove URLs, drop control and invisible characters, NFKC-normalise, and
    collapse whitespace. With ``keep_newlines=False`` every whitespace run becomes one space; with
    ``keep_newlines=True`` line breaks survive (at most one blank line between paragraphs) and other
    whitespace runs become one space.
    """
    if _is_missing(text):
        return ""
    if not isinstance(text, str):
        text = str(text)
    if "<" in text or "&" in text:
        text = strip_html(text)
    lowered = text.lower()
    if "http" in lowered or "www." in lowered or "ftp" in lowered:
        text = remove_urls(text)
    text = _CONTROL_RE.sub("", text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    if not keep_newlines:
        return _ALL_WS_RE.sub(" ", text).strip()
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES_RE.sub(" ", text)
    text = _NEWLINES_RE.sub(lambda m: "\n\n" if m.group(0).count("\n") > 1 else "\n", text)
    return text.strip()


def clean_texts(texts: Iterable[Any], keep_newlines: bool = False) -> list[str]:
    """:func:`clean_text` over many values (a list or a pandas Series), in order."""
    return [clean_text(t, keep_newlines=keep_newlines) for t in texts]
