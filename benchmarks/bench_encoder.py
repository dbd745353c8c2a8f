"""Encoder throughput and agreement: the default ONNX backend vs sentence-transformers on torch.

Encodes the same 1,000 real reviews (Amazon Musical Instruments 5-core) with both backends in one run,
alternating repeats so machine noise hits both alike, and reports sentences/s, the speed ratio and the
cosine similarity between the two backends' vectors. Also times the multilingual backend.

    .venv/bin/python benchmarks/bench_encoder.py [--n 1000] [--repeats 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np

from shopsense.text.encoder import OnnxMiniLMEncoder, get_encoder

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_reviews(n: int) -> list[str]:
    path = DATA / "amazon-musical-instruments-5core" / "reviews_Musical_Instruments_5.json.gz"
    texts: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            text = json.loads(line).get("reviewText", "").strip()
            if text:
                texts.append(text)
            if len(texts) == n:
                break
    return texts


def timed(encoder, texts: list[str]) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    vectors = encoder.encode(texts, batch_size=64)
    return time.perf_counter() - start, vectors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    texts = load_reviews(args.n)
    backends = {"onnx": get_encoder("onnx"), "onnx-int8": OnnxMiniLMEncoder(precision="int8"),
                "torch": get_encoder("torch"), "multilingual": get_encoder("multilingual")}
    for encoder in backends.values():  # warm-up
        encoder.encode(texts[:64])
    times: dict[str, list[float]] = {name: [] for name in backends}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        for name, encoder in backends.items():
            seconds, vectors[name] = timed(encoder, texts)
            times[name].append(seconds)
    best = {name: min(ts) for name, ts in times.items()}
    cosine = (vectors["onnx"] * vectors["torch"]).sum(axis=1)
    cosine_int8 = (vectors["onnx-int8"] * vectors["torch"]).sum(axis=1)
    result = {
        "date": date.today().isoformat(), "cores": os.cpu_count(), "machine": platform.machine(),
        "n_texts": len(texts), "default_onnx_model": backends["onnx"].model_id,
        "sentences_per_s": {name: round(len(texts) / s, 1) for name, s in best.items()},
        "speedup_onnx_vs_torch": round(best["torch"] / best["onnx"], 2),
        "speedup_onnx_int8_vs_torch": round(best["torch"] / best["onnx-int8"], 2),
        "cosine_onnx_vs_torch": {"mean": round(float(cosine.mean()), 5), "min": round(float(cosine.min()), 5)},
        "cosine_onnx_int8_vs_torch": {"mean": round(float(cosine_int8.mean()), 5),
                                      "min": round(float(cosine_int8.min()), 5)},
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
