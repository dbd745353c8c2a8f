"""The built-in ``category`` task's data: a product's category from its title and description.

Category paths (``"Toys > Games > Card Games"``) are cut at one level: the deepest level at which the
classes with at least ``min_per_class`` products still cover ``min_coverage`` of the catalog (else
the top level). Products of rarer classes are merged into :data:`OTHER` so every label has enough
examples to learn and to split into train/valid/test.
"""

from __future__ import annotations

import pandas as pd

from shopsense.nlp.builtin.resources import drop_duplicate_texts

OTHER = "other"
SEPARATOR = ">"
MAX_CHARS = 1000
COLUMNS = ["text", "label", "lang", "source"]


def path_level(path: object, level: int) -> str | None:
    """The first ``level`` parts of a category path joined back with " > ", or None when it has fewer."""
    if not isinstance(path, str):
        return None
    parts = [p.strip() for p in path.split(SEPARATOR) if p.strip()]
    if len(parts) < level:
        return None
    return " > ".join(parts[:level])


def choose_level(categories: pd.Series, min_per_class: int = 15, min_coverage: float = 0.8,
                 min_classes: int = 3) -> int:
    """The deepest level whose classes of ``min_per_class``+ products cover ``min_coverage`` of them."""
    known = categories[categories.map(lambda c: isinstance(c, str) and c.strip() != "")]
    if known.empty:
        return 1
    best = 1
    depth = int(known.map(lambda c: len([p for p in c.split(SEPARATOR) if p.strip()])).max())
    for level in range(1, depth + 1):
        counts = known.map(lambda c, level=level: path_level(c, level)).value_counts()
        big = counts[counts >= min_per_class]
        if len(big) >= min_classes and big.sum() / len(known) >= min_coverage:
            best = level
    return best


def item_text(title: object, description: object) -> str:
    """``"title. description"`` (missing parts left out), whitespace collapsed, cut at :data:`MAX_CHARS`."""
    parts = [" ".join(str(p).split()) for p in (title, description) if isinstance(p, str) and p.strip()]
    if len(parts) == 2 and parts[0][-1:] not in ".!?。！？":
        parts[0] += "."
    return " ".join(parts)[:MAX_CHARS]


def category_dataset(items: pd.DataFrame, level: int | None = None, min_per_class: int = 15,
                     min_coverage: float = 0.8) -> pd.DataFrame:
    """``text, label, lang, source`` for the products of ``items`` (``StoreData.items``) that have a
    category; ``level`` None chooses one (:func:`choose_level`), rare classes become ``other``.

    The frame's ``attrs["level"]`` records the level used.
    """
    from shopsense.core.language import detect_language

    for column in ("title", "category"):
        if column not in items.columns:
            raise ValueError(f"items: column {column!r} is required for the category task")
    descriptions = items["description"] if "description" in items.columns else pd.Series([None] * len(items))
    chosen = level or choose_level(items["category"], min_per_class, min_coverage)
    labels = items["category"].map(lambda c: path_level(c, chosen))
    texts = [item_text(t, d) for t, d in zip(items["title"], descriptions, strict=True)]
    df = pd.DataFrame({"text": texts, "label": labels.to_numpy(), "source": "workspace"})
    df = df[df["label"].notna() & (df["text"] != "")]
    df = drop_duplicate_texts(df.reset_index(drop=True))
    counts = df["label"].value_counts()
    rare = set(counts[counts < min_per_class].index)
    df["label"] = df["label"].map(lambda c: OTHER if c in rare else c)
    df["lang"] = [lang if lang in ("en", "zh") else "en" for lang in df["text"].map(detect_language)]
    df = df[COLUMNS].reset_index(drop=True)
    df.attrs["level"] = chosen
    return df
