"""Rebuild the reference data files shipped in ``shopsense/nlp/data`` from the original data sets.

``python -m shopsense.nlp.builtin.build_data --shared ../shared/data`` writes:

- ``bitext_intents.csv.gz``: the Bitext 20k utterances CSV, byte for byte, gzipped.
- ``sentiment_en.csv.gz``: Amazon Musical Instruments reviews (all negative and neutral, capped
  positive) and Women's Clothing reviews (capped per label), test buckets excluded.
- ``sentiment_zh.csv.gz``: online_shopping_10_cats, capped per label, spread over the 10 categories,
  test bucket excluded.

Personal data is masked in review text. Output is deterministic (seeded samples, gzip mtime 0), so
``--check`` rebuilds into memory and fails when a shipped file differs.
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
from pathlib import Path

import pandas as pd

from shopsense.core.atomic import write_bytes_atomic
from shopsense.nlp.builtin import sentiment as s

BITEXT_SOURCE = "bitext-customer-support/bitext_20k_utterances_intents.csv"
# Caps per label: every negative and neutral Amazon review of the train pool (the rare classes that decide
# macro-F1), positives so that the class mix stays near half positive (a negative-heavy mix over-predicts
# the minority classes on real, mostly positive reviews: 0.55 vs 0.61-0.62 macro-F1 on the held-out Amazon
# test), and smaller samples for other shops and Chinese. The multilingual encoder reads ~650-1000
# tokens/s on 2 cores, so these sizes keep the first `shopsense train` to minutes.
EN_CAPS = {"amazon_mi": {"negative": 10_000, "neutral": 10_000, "positive": 1_200},
           "clothing": {"negative": 250, "neutral": 250, "positive": 250}}
ZH_CAPS = {"negative": 700, "positive": 700}
SEED = 42


def _gzip_bytes(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename=name, mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as handle:
        handle.write(data)
    return buffer.getvalue()


def _masked(df: pd.DataFrame) -> pd.DataFrame:
    from shopsense.core.pii import mask_pii

    return df.assign(text=df["text"].map(mask_pii))


def build(shared: Path) -> dict[str, bytes]:
    """The shipped files' contents, by file name."""
    out: dict[str, bytes] = {}
    bitext = shared / BITEXT_SOURCE
    out["bitext_intents.csv.gz"] = _gzip_bytes("bitext_intents.csv", bitext.read_bytes())

    en_parts = []
    for source, loader in (("amazon_mi", s.load_amazon_instruments), ("clothing", s.load_clothing)):
        pool, _ = s.split_reference(loader(shared))
        en_parts.append(s.sample_per_label(pool, EN_CAPS[source], seed=SEED))
    en = _masked(pd.concat(en_parts, ignore_index=True))[s.COLUMNS]
    out["sentiment_en.csv.gz"] = _gzip_bytes("sentiment_en.csv", en.to_csv(index=False).encode("utf-8"))

    pool, _ = s.split_reference(s.load_chinese_shopping(shared))
    zh = _masked(s.sample_per_label(pool, ZH_CAPS, seed=SEED, by="cat"))[s.COLUMNS]
    out["sentiment_zh.csv.gz"] = _gzip_bytes("sentiment_zh.csv", zh.to_csv(index=False).encode("utf-8"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, required=True, help="the reference data directory")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "data")
    parser.add_argument("--check", action="store_true", help="fail if a shipped file differs")
    args = parser.parse_args(argv)
    files = build(args.shared)
    differ = []
    for name, data in files.items():
        target = args.out / name
        if args.check:
            if not target.is_file() or target.read_bytes() != data:
                differ.append(name)
        else:
            write_bytes_atomic(target, data, mode=0o644)  # shipped data is world-readable
            print(f"wrote {target} ({len(data):,} bytes)")
    if differ:
        print(f"differs from a fresh build: {', '.join(differ)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
