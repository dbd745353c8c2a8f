"""Cold-start items: how well text and hybrid models rank items nobody has interacted with yet.

Protocol (:func:`shopsense.recommend.protocol.cold_item_split`): a seeded 10% of the items with
interactions are held out with all their interactions; every held-out interaction whose user has
training data is a case that ranks the target among the cold items (minus the user's other cold items).
Only catalog text (title, category, brand, description) describes a cold item: training reviews are
restricted to training pairs, so held-out review text never reaches a model. CF models are reported as
unable. The floor is the exact expected NDCG@10 of a random ranking of each case's n candidates,
``sum_{r<=min(10,n)} 1/log2(r+1) / n``; the ratio to it is printed, with the best ratio any ranking could
reach (1 / random) since small cold pools cap it.

A second, harder view ("among all items") ranks each case's cold target against every item the user has
not interacted with (warm and cold), so cold items must also compete with popular warm ones.

Stores: Gift Cards (``--stores`` DIR, built by ``scripts/build_benchmark_stores.py`` when missing) with
parameters tuned on its leave-last-out validation split, and the bundled demo store (too few repeat
customers to tune on: each model's default parameters). One split of the demo store has only ~14 cases,
so ``--repeats N`` pools the cases of N seeded splits (seed, seed+1, ...).

    .venv/bin/python benchmarks/bench_cold_start.py [--stores DIR] [--only gift-cards,demo] [--repeats 10]
        [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_recommend import REPO, ensure_stores, load  # noqa: E402

DEMO = REPO / "src" / "shopsense" / "data" / "demo_store"


def cold_cases(store, specs, chosen: dict, seed: int, among: str = "cold") -> dict[str, dict]:  # noqa: ANN001
    """Per-case NDCG@10 etc. of every cold-capable model under the cold-item split of ``seed``.

    ``among="cold"`` is the protocol of :func:`shopsense.recommend.evaluation_side.evaluate_cold_items`
    (candidates: the cold items minus the user's other cold items); ``among="all"`` ranks the cold
    target against every item the user has not interacted with in training (minus their other cold items).
    """
    from shopsense.recommend.evaluation_side import index_frame, train_dataset
    from shopsense.recommend.protocol import (
        cold_item_split,
        metrics_from_ranks,
        random_expected,
        ranks_of_targets,
    )

    split = cold_item_split(store.all_interactions(), seed=seed)
    if split.test.empty:
        return {}
    ds = train_dataset(store, split.train, sorted(set(split.train["item_id"]) | set(split.cold_items)))
    users, targets = index_frame(ds, split.test)
    others = split.test.groupby("user_id")["item_id"].agg(set).to_dict()
    uids = split.test["user_id"].to_numpy()
    cold = np.asarray([ds.item_index[i] for i in split.cold_items], dtype=np.int64)
    pool = cold if among == "cold" else np.arange(ds.n_items)
    n_cand = []
    for r, u in enumerate(uids):
        seen = 0 if among == "cold" else len(ds.user_items(users[r]))
        n_cand.append(len(pool) - seen - len(others[u]) + 1)
    out = {"random": random_expected(np.asarray(n_cand))}
    for spec in specs:
        if spec.name not in chosen:
            continue
        model = spec.build(dict(chosen[spec.name]), chosen)
        if not model.supports_cold_items:
            out[spec.name] = None
            continue
        model.fit(ds)
        s = np.array(model.score_users(users), dtype=np.float64)
        if among == "all":
            sub = ds.matrix[users]
            s[np.repeat(np.arange(len(users)), np.diff(sub.indptr)), sub.indices] = np.nan
        for r, u in enumerate(uids):
            for other in others[u]:
                if ds.item_index[other] != targets[r]:
                    s[r, ds.item_index[other]] = np.nan
        pos = {int(c): n for n, c in enumerate(pool)}
        t = np.asarray([pos[int(x)] for x in targets])
        out[spec.name] = metrics_from_ranks(ranks_of_targets(s[:, pool], t, ds.item_order[pool]))
    return out


def pooled(store, specs, chosen: dict, seeds: list[int], among: str) -> list[dict]:  # noqa: ANN001
    """Cases of several seeded cold-item splits pooled into one table (mean, standard error, n)."""
    from shopsense.recommend.protocol import summarise

    cases: dict[str, list] = {}
    unable: set[str] = set()
    for seed in seeds:
        for name, per_case in cold_cases(store, specs, chosen, seed, among).items():
            if per_case is None:
                unable.add(name)
            else:
                cases.setdefault(name, []).append(per_case)
    rows = []
    for name, parts in cases.items():
        merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        rows.append({"model": name, **summarise(merged), "n_cases": int(len(merged["ndcg@10"]))})
    rows += [{"model": n, "note": "unable: needs interactions, cold items have none"} for n in sorted(unable)]
    return rows


def _print(title: str, rows: list[dict]) -> None:
    rand = next(r for r in rows if r["model"] == "random")["ndcg@10"]
    print(f"  {title}: random NDCG@10 {rand:.4f} (best possible ratio {1 / rand:.1f}x)", flush=True)
    for r in rows:
        if r.get("ndcg@10") is None:
            print(f"    {r['model']:13s} {r.get('note', '')}", flush=True)
        else:
            print(
                f"    {r['model']:13s} NDCG@10 {r['ndcg@10']:.4f} ± {r['ndcg@10_se']:.4f}  "
                f"Recall@10 {r['recall@10']:.4f}  ratio to random {r['ndcg@10'] / rand:.2f}x  "
                f"({r['n_cases']} cases)",
                flush=True,
            )


def main() -> None:
    from shopsense.recommend.evaluation import all_specs, compare_models

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stores", type=Path, default=REPO / ".shopsense" / "benchmark-stores")
    parser.add_argument("--only", default="gift-cards,demo")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=1, help="pool the cases of this many seeded splits")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    if any(n != "demo" for n in names):
        ensure_stores(args.stores, [n for n in names if n != "demo"])
    specs = all_specs()
    report: dict[str, dict] = {}
    for name in names:
        store = load(DEMO if name == "demo" else args.stores / name)
        if name == "demo":
            chosen = {s.name: dict(s.grid[0]) for s in specs}
            tuned_on = "defaults (first grid point): too few repeat customers to tune on"
        else:
            res = compare_models(store, specs, seed=args.seed, cold_start=False, rating=False)
            chosen = {r.name: r.params for r in res.models if r.error is None}
            tuned_on = "leave-last-out validation"
        seeds = [args.seed + n for n in range(args.repeats)]
        report[name] = {"params": chosen, "tuned_on": tuned_on, "seeds": seeds}
        print(f"{name} (parameters: {tuned_on}; cold-item splits with seeds {seeds})", flush=True)
        for among in ("cold", "all"):
            rows = pooled(store, specs, chosen, seeds, among)
            report[name][f"among_{among}"] = rows
            _print("among cold items (protocol)" if among == "cold" else "among all unseen items", rows)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
