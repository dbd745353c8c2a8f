"""Rating prediction (RMSE) on the benchmark stores: global mean, bias-only, and the text-aware rating model.

Protocol (as :mod:`shopsense.recommend.protocol`): rating rows (reviews and rating events, earliest row per
user-item pair), a seeded 80/20 split. Every model's hyperparameters are chosen on a validation part
(12.5%, seeded) of the 80%, then the model is refitted on the whole 80% and scored once on the 20%.
``--seeds 42,7,1`` repeats the whole procedure on other splits (the paired difference to bias-only, with
its standard error over test rows, is printed per split).

    .venv/bin/python benchmarks/bench_rating.py [--stores DIR] [--only gift-cards,...] [--seeds 42]
        [--json OUT]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_recommend import REPO, STORES, ensure_stores, load  # noqa: E402

BIAS_GRID = list(itertools.product([1.0, 3.0, 10.0, 25.0], [1.0, 3.0, 10.0, 25.0]))
MODEL_GRID = [
    {"n_factors": 16, "num_leaves": 7},
    {"n_factors": 0, "num_leaves": 7},
    {"n_factors": 16, "num_leaves": 15, "min_child_samples": 50},
]


def _rmse(model, frame) -> tuple[float, np.ndarray]:  # noqa: ANN001
    pred = np.asarray(model.predict(frame["user_id"].tolist(), frame["item_id"].tolist()), dtype=np.float64)
    sq = (pred - frame["rating"].to_numpy(np.float64)) ** 2
    return float(np.sqrt(sq.mean())), sq


def run_split(rows, items_text: dict[str, str], seed: int, cache_dir: str | None) -> dict:  # noqa: ANN001
    from shopsense.recommend.protocol import rating_split
    from shopsense.recommend.rating import BiasOnly, GlobalMean, RatingModel

    cols = ["user_id", "item_id", "rating", "text"]
    train, test = rating_split(rows, seed=seed)
    inner, valid = rating_split(train, seed=7, train_fraction=0.875)
    reg = min(BIAS_GRID, key=lambda g: _rmse(BiasOnly(*g).fit(inner[cols]), valid)[0])
    tuning = []
    for params in MODEL_GRID:
        m = RatingModel(reg_user=reg[0], reg_item=reg[1], cache_dir=cache_dir, **params).fit(
            inner[cols], items_text
        )
        tuning.append((_rmse(m, valid)[0], params))
    best = min(tuning, key=lambda t: t[0])[1]
    out: dict = {
        "seed": seed,
        "n_train": len(train),
        "n_test": len(test),
        "bias_params": list(reg),
        "model_params": best,
        "valid_rmse": {json.dumps(p, sort_keys=True): v for v, p in tuning},
    }
    models = {
        "GlobalMean": GlobalMean(),
        "BiasOnly": BiasOnly(*reg),
        "RatingModel": RatingModel(reg_user=reg[0], reg_item=reg[1], cache_dir=cache_dir, **best),
        "RatingModel (no text)": RatingModel(
            reg_user=reg[0], reg_item=reg[1], cache_dir=cache_dir, use_text=False, **best
        ),
    }
    sq = {}
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(train[cols], items_text)
        fit_s = time.perf_counter() - start
        rmse, sq[name] = _rmse(model, test)
        se = float(sq[name].std(ddof=1) / np.sqrt(len(sq[name])) / (2 * rmse))
        out[name] = {"rmse": rmse, "rmse_se": se, "fit_time_s": round(fit_s, 2)}
    # Paired: the per-row squared-error difference to bias-only, as an RMSE difference (delta method).
    for name in ("RatingModel", "RatingModel (no text)"):
        d = sq[name] - sq["BiasOnly"]
        scale = 2 * out["BiasOnly"]["rmse"]
        out[name]["delta_vs_bias"] = out[name]["rmse"] - out["BiasOnly"]["rmse"]
        out[name]["delta_se"] = float(d.std(ddof=1) / np.sqrt(len(d)) / scale)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stores", type=Path, default=REPO / ".shopsense" / "benchmark-stores")
    parser.add_argument("--only", default=",".join(STORES))
    parser.add_argument("--seeds", default="42")
    parser.add_argument("--cache-dir", default=None, help="embedding cache (default: the workspace cache)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from shopsense.recommend.features import catalog_texts
    from shopsense.recommend.protocol import rating_rows

    names = [n for n in args.only.split(",") if n]
    ensure_stores(args.stores, names)
    report: dict[str, list] = {}
    for name in names:
        store = load(args.stores / name)
        rows = rating_rows(store.all_interactions(), store.reviews)
        items_text = dict(zip(store.items["item_id"].astype(str), catalog_texts(store.items), strict=True))
        report[name] = []
        for seed in [int(s) for s in args.seeds.split(",")]:
            res = run_split(rows, items_text, seed, args.cache_dir)
            report[name].append(res)
            print(
                f"{name} (seed {seed}, {res['n_train']} train / {res['n_test']} test; "
                f"biases {res['bias_params']}, "
                f"model {res['model_params']})",
                flush=True,
            )
            for model in ("GlobalMean", "BiasOnly", "RatingModel", "RatingModel (no text)"):
                r = res[model]
                delta = (
                    f"  vs bias-only {r['delta_vs_bias']:+.4f} ± {r['delta_se']:.4f}"
                    if "delta_vs_bias" in r
                    else ""
                )
                print(
                    f"  {model:22s} RMSE {r['rmse']:.4f} ± {r['rmse_se']:.4f}{delta}  fit {r['fit_time_s']}s",
                    flush=True,
                )
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
