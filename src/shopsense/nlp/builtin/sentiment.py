"""The built-in ``sentiment`` task's data: review stars to negative / neutral / positive, English and Chinese.

Stars 1-2 are ``negative``, 3 ``neutral``, 4-5 ``positive``. A review's text is its title (if any) and
body joined as ``"title. body"``: short titles ("Five Stars", "Disappointed") carry much of the signal.

Sources:

- Shipped samples (``shopsense/nlp/data/sentiment_{en,zh}.csv.gz``, built by
  :mod:`shopsense.nlp.builtin.build_data` from the reference sets, test buckets excluded): Amazon
  Musical Instruments 5-core reviews (McAuley et al.; research use), Women's E-Commerce Clothing
  Reviews (CC0), and Chinese online-shopping reviews (SophonPlus ChineseNlpCorpus
  ``online_shopping_10_cats``: label 1/0 -> positive/negative, no neutral; research corpus).
- The workspace's own reviews (``StoreData.reviews``), personal data masked.

The reference loaders (``load_*``) read the original files from a data directory (the read-only
``shared/data`` of a development checkout); benchmarks use them for the held-out test sets.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from shopsense.nlp.builtin.resources import BuiltinDataError, data_path, drop_duplicate_texts, in_test_bucket

SENTIMENT_LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
COLUMNS = ["text", "label", "lang", "source"]
MAX_CHARS = 2000  # the encoders read at most 256-512 tokens; longer texts only cost time
# Training texts are cut shorter still: the opening of a review carries its tone, and encoding cost grows
# with length (the multilingual encoder reads ~500-2000 tokens/s on 2 cores).
TRAIN_CHARS = {"en": 500, "zh": 160}
_ENDS_SENTENCE = re.compile(r"[.!?。！？…]$")

AMAZON_MI = "amazon-musical-instruments-5core/reviews_Musical_Instruments_5.json.gz"
CLOTHING = "womens-clothing-reviews/womens_clothing_ecommerce_reviews.csv.zip"
ZH_SHOPPING = "zh-online-shopping-10cats/online_shopping_10_cats.zip"


def star_label(rating: float | int | None) -> str | None:
    """``negative`` for 1-2 stars, ``neutral`` for 3, ``positive`` for 4-5; None for anything else."""
    if rating is None or pd.isna(rating):
        return None
    stars = int(round(float(rating)))
    if stars < 1 or stars > 5:
        return None
    return "negative" if stars <= 2 else "neutral" if stars == 3 else "positive"


def review_text(title: object, body: object) -> str:
    """``"title. body"`` (either may be missing), whitespace collapsed, cut at :data:`MAX_CHARS`."""
    parts = [" ".join(str(p).split()) for p in (title, body) if isinstance(p, str) and p.strip()]
    if len(parts) == 2 and parts[1].lower().startswith(parts[0].lower()):
        parts = parts[1:]  # a body that repeats its title (truncated reviews) once is enough
    if len(parts) == 2 and not _ENDS_SENTENCE.search(parts[0]):
        parts[0] += "."
    return " ".join(parts)[:MAX_CHARS]


def _frame(text: pd.Series, label: pd.Series, lang: str, source: str) -> pd.DataFrame:
    df = pd.DataFrame({"text": text.astype(str), "label": label, "lang": lang, "source": source})
    df = df[df["label"].notna() & df["text"].str.strip().ne("")]
    return drop_duplicate_texts(df.reset_index(drop=True))


def _need(path: Path) -> Path:
    if not path.is_file():
        raise BuiltinDataError(f"{path}: reference data file not found")
    return path


def load_amazon_instruments(data_dir: Path | str) -> pd.DataFrame:
    """Amazon Musical Instruments 5-core: 10,261 reviews, ``summary. reviewText`` -> star label."""
    path = _need(Path(data_dir) / AMAZON_MI)
    raw = pd.read_json(path, lines=True, dtype={"summary": str, "reviewText": str})
    text = pd.Series([review_text(t, b) for t, b in zip(raw["summary"], raw["reviewText"], strict=True)])
    return _frame(text, raw["overall"].map(star_label), "en", "amazon_mi")


def load_clothing(data_dir: Path | str) -> pd.DataFrame:
    """Women's E-Commerce Clothing Reviews (CC0): 23,486 reviews, ``Title. Review Text`` -> star label."""
    path = _need(Path(data_dir) / CLOTHING)
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv") and not n.startswith("__MACOSX"))
        raw = pd.read_csv(archive.open(name), dtype={"Title": str, "Review Text": str})
    text = pd.Series([review_text(t, b) for t, b in zip(raw["Title"], raw["Review Text"], strict=True)])
    return _frame(text, raw["Rating"].map(star_label), "en", "clothing")


def load_chinese_shopping(data_dir: Path | str) -> pd.DataFrame:
    """online_shopping_10_cats: 62,774 Chinese reviews, label 1/0 -> positive/negative, ``cat`` kept."""
    path = _need(Path(data_dir) / ZH_SHOPPING)
    with zipfile.ZipFile(path) as archive:
        raw = pd.read_csv(archive.open("online_shopping_10_cats.csv"), dtype={"review": str, "cat": str})
    raw = raw[raw["review"].notna()].reset_index(drop=True)
    label = raw["label"].map({1: "positive", 0: "negative"})
    text = raw["review"].map(lambda t: " ".join(str(t).split())[:MAX_CHARS])
    df = pd.DataFrame({"text": text, "label": label, "lang": "zh", "source": "zh_shopping",
                       "cat": raw["cat"]})
    df = df[df["label"].notna() & df["text"].ne("")]
    return drop_duplicate_texts(df.reset_index(drop=True))


def split_reference(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train pool, held-out test)`` by :func:`~shopsense.nlp.builtin.resources.in_test_bucket`."""
    test = df["text"].map(in_test_bucket).to_numpy()
    return df[~test].reset_index(drop=True), df[test].reset_index(drop=True)


def sample_per_label(df: pd.DataFrame, caps: dict[str, int], seed: int = 42,
                     by: str | None = None) -> pd.DataFrame:
    """At most ``caps[label]`` rows per label (seeded), spread evenly over the groups of ``by``."""
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    for label, group in df.groupby("label", sort=True):
        cap = caps.get(str(label), len(group))
        if by is None:
            idx = group.index.to_numpy()
            keep.extend(rng.permutation(idx)[:cap].tolist())
            continue
        # Round-robin over the groups so that one large category cannot crowd out the others.
        pools = [rng.permutation(g.index.to_numpy()).tolist() for _, g in group.groupby(by, sort=True)]
        taken: list[int] = []
        while len(taken) < cap and any(pools):
            for pool in pools:
                if pool and len(taken) < cap:
                    taken.append(pool.pop())
        keep.extend(taken)
    return df.loc[sorted(keep)].reset_index(drop=True)


def shipped_sentiment(langs: tuple[str, ...] = ("en", "zh")) -> pd.DataFrame:
    """The shipped reference samples as ``text, label, lang, source``."""
    parts = []
    for lang in langs:
        path = data_path(f"sentiment_{lang}.csv.gz")
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        missing = set(COLUMNS) - set(df.columns)
        if missing:
            raise BuiltinDataError(f"{path}: missing column(s) {sorted(missing)}")
        bad = ~df["label"].isin(SENTIMENT_LABELS)
        if bad.any():
            line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise BuiltinDataError(f"{path}:{line}: field 'label' must be one of {SENTIMENT_LABELS}, "
                                   f"got {df.loc[bad, 'label'].iloc[0]!r}")
        parts.append(df[COLUMNS])
    return pd.concat(parts, ignore_index=True)


def workspace_sentiment(reviews: pd.DataFrame | None) -> pd.DataFrame:
    """The workspace's reviews (``StoreData.reviews``: ``rating``, ``text``, optional ``title``) as
    sentiment examples, language detected per review and personal data masked."""
    if reviews is None or len(reviews) == 0:
        return pd.DataFrame(columns=COLUMNS)
    from shopsense.core.language import detect_language
    from shopsense.core.pii import mask_pii

    titles = reviews["title"] if "title" in reviews.columns else pd.Series([None] * len(reviews))
    text = pd.Series([mask_pii(review_text(t, b)) for t, b in zip(titles, reviews["text"], strict=True)])
    df = _frame(text, pd.Series(reviews["rating"].map(star_label).to_numpy()), "en", "workspace")
    df["lang"] = [lang if lang in ("en", "zh") else "en" for lang in df["text"].map(detect_language)]
    return df


def sentiment_dataset(reviews: pd.DataFrame | None = None, langs: tuple[str, ...] = ("en", "zh"),
                      max_rows: int | None = None, seed: int = 42) -> pd.DataFrame:
    """Training data for the ``sentiment`` task: shipped samples plus the workspace's reviews, each
    text cut at :data:`TRAIN_CHARS` for its language.

    ``max_rows`` subsamples (stratified by label and language, seeded) for quick runs.
    """
    df = pd.concat([shipped_sentiment(langs), workspace_sentiment(reviews)], ignore_index=True)
    df = df[df["lang"].isin(langs)]
    df = drop_duplicate_texts(df.assign(text=[t[:TRAIN_CHARS.get(lang, MAX_CHARS)]
                                              for t, lang in zip(df["text"], df["lang"], strict=True)]))
    if max_rows is not None and len(df) > max_rows:
        strata = df["label"] + "/" + df["lang"]
        share = max_rows / len(df)
        df = df.groupby(strata, group_keys=False).sample(frac=share, random_state=seed)
        df = df.reset_index(drop=True)
    return df
