"""The assistant as a shopping guide (issue 15): scripted shopper conversations checked against the catalog.

Each conversation states, turn by turn, what the shopper has asked for so far (the child's age, the budget, a
pattern the product's title or category must match), written here independently of the assistant's own
constraint reader. Every item shown is checked against the catalog's own attributes (price,
``min_age_months``/``max_age_months``, title, category): the share of shown items meeting every constraint,
the share of turns showing items, and child-safety violations (an adult item, or one whose minimum age is
above the child's, shown for a child: must be 0). "cheaper" turns must show only items below the cheapest one
the previous reply showed; "not interested" turns nothing shown before; "the second one" the second item of
the list shown. The conversations are in two parts: ``tuned`` (looked at while building) and ``held_out`` (not
looked at until the figures were taken). Also: the constraint reader's per-slot precision and recall on
tests/assistant/data/constraints_eval.tsv, and the turn latency (template backend).

    .venv/bin/python benchmarks/bench_shopping.py --home WS [--json benchmarks/out/shopping.json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "assistant"))

from constraint_eval import load_eval_set, per_slot_scores  # noqa: E402

from shopsense.core.settings import get_settings  # noqa: E402
from shopsense.serving.workspace import Workspace  # noqa: E402

K = {  # what the title or category of a product of each kind says
    "jigsaw": r"jigsaw", "train": r"train|railway|locomotive|thomas|chuggington|brio|engine|carriage|wagon",
    "dinosaur": r"dinosaur|dino\b|t-?rex|jurassic|raptor", "lego": r"lego", "doll": r"doll|barbie|sylvanian",
    "craft": r"craft|colouring|crayon|paint|drawing|pencil|\bpens?\b|sticker|crayola",
    "puppet": r"puppet", "game": r"game", "board_game": r"board game|\bgames? >|\bgame\b", "pirate": r"pirate",
    "vehicle": r"\bcars?\b|truck|vehicle|die-cast|diecast|tractor", "knight": r"knight|castle",
    "farm": r"farm|animal|tractor|horse", "costume": r"costume|fancy dress|dress[- ]up", "space": r"space|rocket",
    "star_wars": r"star wars", "musical": r"musical|instrument|drum|guitar|xylophone|recorder|keyboard",
    "soft_toy": r"soft toy|plush|teddy|cuddly|soft doll", "figure": r"figure|playset", "princess": r"princess",
    "superhero": r"super ?hero|spider-?man|batman|marvel|avengers|x-men|superman", "puzzle": r"puzzle|jigsaw|teaser",
    "football": r"football|soccer", "disney": r"disney|frozen|mickey|minnie",
}
ADULT = re.compile(r"\badults?\b|\bmen'?s\b|\bmens\b|ladies|women'?s|\bstag\b|hen party|sexy|vamp|wine|beer|vodka"
                   r"|soviet|communist|punk|anarchy|fishnet|(?:1[89]|[2-9]\d)(?:st|nd|rd|th) birthday", re.I)
ADULT_CATEGORY = re.compile(r"adults|novelty & special use|barware|collectible|memorabilia|^women|^men", re.I)

# (part, [(message, constraints now in force)]); a constraints dict: age (months), max, min, kind (a key of K);
# "cheaper"/"rejected"/"second" mark the follow-ups. {} for a turn keeps the previous turn's constraints.
T, H = "tuned", "held_out"
CONVERSATIONS: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = [
    (T, [("gift for a 5 year old, under £20", {"age": 60, "max": 20}), ("something cheaper", {"cheaper": 1}),
         ("tell me about the second one", {"second": 1}), ("not interested", {"rejected": 1}),
         ("what else do you have?", {"rejected": 1})]),
    (T, [("something for a 3 year old who loves trains", {"age": 36, "kind": "train"}),
         ("under £10 please", {"max": 10})]),
    (T, [("jigsaw puzzle for a 5 year old", {"age": 60, "kind": "jigsaw"}), ("cheaper please", {"cheaper": 1})]),
    (T, [("a toy for a toddler, about 2 years old", {"age": 24})]),
    (T, [("我想给五岁的孩子买个礼物，20英镑以内", {"age": 60, "max": 20}), ("不感兴趣", {"rejected": 1}),
         ("第二个怎么样", {"second": 1})]),
    (T, [("I want to buy a wooden train, what do you recommend?", {"kind": "train"}),
         ("not interested", {"rejected": 1}), ("for a 4 year old", {"age": 48})]),
    (T, [("do you sell lego?", {"kind": "lego"}), ("tell me about the second one", {"second": 1}),
         ("something cheaper", {"cheaper": 1})]),
    (T, [("dinosaur toys for a 4-year-old", {"age": 48, "kind": "dinosaur"}), ("cheaper", {"cheaper": 1})]),
    (T, [("十岁男孩喜欢恐龙", {"age": 120, "kind": "dinosaur"}), ("便宜一点", {"cheaper": 1})]),
    (T, [("birthday present for my 7 year old daughter, under £15", {"age": 84, "max": 15}),
         ("not interested", {"rejected": 1}), ("she loves arts and crafts", {"kind": "craft"})]),
    (T, [("arts and crafts for a 6 year old girl under £10", {"age": 72, "max": 10, "kind": "craft"}),
         ("the first one", {"second": 0})]),
    (T, [("pirate toys between £5 and £15", {"min": 5, "max": 15, "kind": "pirate"})]),
    (T, [("a doll for my 3 year old", {"age": 36, "kind": "doll"}), ("under £10", {"max": 10})]),
    (T, [("train set for a 4 year old", {"age": 48, "kind": "train"}), ("what else do you have?", {"rejected": 1})]),
    (T, [("puppets for a preschooler", {"age": 48, "kind": "puppet"}), ("not interested", {"rejected": 1})]),
    (T, [("toy cars for my 6 year old under 10 pounds", {"age": 72, "max": 10, "kind": "vehicle"})]),
    (T, [("有没有适合三岁孩子的火车玩具？", {"age": 36, "kind": "train"}), ("换一批", {"rejected": 1})]),
    (T, [("不超过15英镑的拼图", {"max": 15, "kind": "jigsaw"}), ("给八岁的孩子", {"age": 96})]),
    (T, [("我女儿七岁，喜欢手工", {"age": 84, "kind": "craft"}), ("10英镑以内", {"max": 10})]),
    (T, [("knights and castles for a 6 year old", {"age": 72, "kind": "knight"}), ("cheaper", {"cheaper": 1})]),
    (T, [("farm animals for a 3 year old", {"age": 36, "kind": "farm"}), ("not interested", {"rejected": 1})]),
    (T, [("star wars toys for a 9 year old", {"age": 108, "kind": "star_wars"})]),
    (T, [("costume for a 5 year old boy", {"age": 60, "kind": "costume"})]),
    (T, [("board game for a 8 year old, max 30 pounds", {"age": 96, "max": 30, "kind": "board_game"}),
         ("something cheaper", {"cheaper": 1}), ("the second one", {"second": 1})]),
    (T, [("a musical toy for a 4 year old", {"age": 48, "kind": "musical"})]),
    (T, [("stocking filler for my nephew, he is six, under £5", {"age": 72, "max": 5})]),
    (T, [("五岁男孩，喜欢太空，预算20镑", {"age": 60, "max": 20, "kind": "space"})]),
    (T, [("适合四岁孩子的娃娃", {"age": 48, "kind": "doll"}), ("不感兴趣", {"rejected": 1})]),
    (T, [("gift for a 10 year old under £25", {"age": 120, "max": 25}), ("cheaper please", {"cheaper": 1}),
         ("not interested", {"rejected": 1})]),
    (T, [("给六岁的侄子买生日礼物", {"age": 72}), ("15英镑以内", {"max": 15}), ("还有别的吗", {"rejected": 1})]),
    (T, [("a puzzle for a 10 year old", {"age": 120, "kind": "puzzle"}), ("under £8", {"max": 8})]),
    (T, [("superhero toys for a 7 year old", {"age": 84, "kind": "superhero"}), ("cheaper", {"cheaper": 1})]),
    (T, [("soft toy for a 3 year old", {"age": 36, "kind": "soft_toy"})]),
    (T, [("lego under £20", {"max": 20, "kind": "lego"}), ("for my 8 year old", {"age": 96})]),
    (H, [("present for a 4 year old who loves dinosaurs", {"age": 48, "kind": "dinosaur"}),
         ("under a tenner", {"max": 10})]),
    (H, [("something for my 6 year old son, around £10", {"age": 72, "max": 12}), ("not interested", {"rejected": 1}),
         ("he likes cars", {"kind": "vehicle"})]),
    (H, [("what would a 3 year old like for christmas?", {"age": 36}), ("something cheaper", {"cheaper": 1}),
         ("the second one", {"second": 1})]),
    (H, [("a jigsaw for an 8 year old", {"age": 96, "kind": "jigsaw"}), ("what else do you have?", {"rejected": 1})]),
    (H, [("train toys for my grandson, he's five", {"age": 60, "kind": "train"}), ("cheaper please", {"cheaper": 1})]),
    (H, [("craft kit for an 8-year-old girl under £12", {"age": 96, "max": 12, "kind": "craft"})]),
    (H, [("pirate toys for a 5 year old", {"age": 60, "kind": "pirate"}), ("not interested", {"rejected": 1})]),
    (H, [("a board game for a 6 year old", {"age": 72, "kind": "board_game"}), ("under 15 pounds", {"max": 15})]),
    (H, [("dolls for a 5 year old under £20", {"age": 60, "max": 20, "kind": "doll"}), ("cheaper", {"cheaper": 1})]),
    (H, [("something fun for a 9 year old", {"age": 108}), ("max £15", {"max": 15}),
         ("the first one", {"second": 0})]),
    (H, [("给四岁的女孩买个圣诞礼物", {"age": 48}), ("不超过10英镑", {"max": 10}), ("不喜欢", {"rejected": 1})]),
    (H, [("三岁孩子喜欢恐龙，有什么推荐？", {"age": 36, "kind": "dinosaur"})]),
    (H, [("适合六岁孩子的桌游", {"age": 72, "kind": "board_game"}), ("便宜点的", {"cheaper": 1})]),
    (H, [("乐高，20英镑以内", {"max": 20, "kind": "lego"}), ("第一个", {"second": 0})]),
    (H, [("给七岁的孩子买个拼图", {"age": 84, "kind": "jigsaw"}), ("换一批", {"rejected": 1})]),
    (H, [("八岁男孩喜欢星球大战", {"age": 96, "kind": "star_wars"})]),
    (H, [("给五岁孩子买手工用品，预算10镑", {"age": 60, "max": 10, "kind": "craft"})]),
    (H, [("十二岁的孩子，喜欢模型，30英镑以内", {"age": 144, "max": 30})]),
    (H, [("knights for a 7 year old under £15", {"age": 84, "max": 15, "kind": "knight"})]),
    (H, [("my niece is 4 and loves princesses", {"age": 48, "kind": "princess"}), ("cheaper", {"cheaper": 1})]),
    (H, [("a gift for an 11 year old, between £10 and £20", {"age": 132, "min": 10, "max": 20}),
         ("not interested", {"rejected": 1})]),
    (H, [("farm toys for my 4 year old", {"age": 48, "kind": "farm"}), ("under £8", {"max": 8})]),
    (H, [("a puppet for a 5 year old", {"age": 60, "kind": "puppet"}), ("the second one", {"second": 1})]),
    (H, [("musical instruments for a 6 year old", {"age": 72, "kind": "musical"}), ("cheaper", {"cheaper": 1})]),
    (H, [("vehicles for a 3 year old under £15", {"age": 36, "max": 15, "kind": "vehicle"})]),
    (H, [("arts and crafts, max 5 pounds", {"max": 5, "kind": "craft"}), ("for a 7 year old", {"age": 84})]),
    (H, [("星球大战的玩具，给十岁的孩子，25英镑以内", {"age": 120, "max": 25, "kind": "star_wars"})]),
    (H, [("有没有适合五岁孩子的木偶", {"age": 60, "kind": "puppet"})]),
]


def _months(row: dict[str, Any], key: str) -> float | None:
    value = (row.get("attributes") or {}).get(key)
    return float(value) if isinstance(value, int | float) else None


def check(row: dict[str, Any], want: dict[str, Any]) -> tuple[list[str], bool]:
    """The constraints the item fails, and whether it is a child-safety violation."""
    failed, unsafe = [], False
    if want.get("age") is not None:
        low, high = _months(row, "min_age_months"), _months(row, "max_age_months")
        adult = bool(ADULT.search(row["title"]) or ADULT_CATEGORY.search(row["category"]))
        unsafe = adult or (low is not None and low > want["age"])
        if unsafe or low is None or (high is not None and high < want["age"]):
            failed.append("age")
    price = row.get("price")
    if want.get("max") is not None and (price is None or price > want["max"]):
        failed.append("budget")
    if want.get("min") is not None and (price is None or price < want["min"]):
        failed.append("budget")
    if want.get("kind") and not re.search(K[want["kind"]], f"{row['title']} | {row['category']}", re.I):
        failed.append("kind")
    return failed, unsafe


def play(assistant: Any, catalog: dict[str, dict]) -> dict[str, Any]:
    results: dict[str, dict[str, Any]] = {}
    timings: list[float] = []
    for part, turns in CONVERSATIONS:
        r = results.setdefault(part, {"conversations": 0, "turns": 0, "turns_with_items": 0, "items": 0,
                                      "items_meeting_all": 0, "child_safety_violations": 0, "follow_up_errors": 0,
                                      "failures": []})
        r["conversations"] += 1
        session, want, previous, seen = f"bench-shop-{uuid.uuid4().hex[:10]}", {}, [], set()
        for message, update in turns:
            started = time.perf_counter()
            reply = assistant.reply(session, message, None)
            timings.append((time.perf_counter() - started) * 1000)
            ids = [i["item_id"] for i in reply.items]
            r["turns"] += 1
            r["turns_with_items"] += bool(ids)
            if not ids:
                r["failures"].append(f"{message!r}: no items ({reply.action}: {reply.reply[:90]!r})")
            want = {**want, **{k: v for k, v in update.items() if k in ("age", "max", "min", "kind")}}
            wrong = False
            if "second" in update:
                wrong = not (len(previous) > update["second"] and ids == [previous[update["second"]]])
            else:
                if "cheaper" in update and previous:
                    floor = min((catalog[i]["price"] for i in previous if catalog[i]["price"] is not None), default=0)
                    wrong = any(catalog[i]["price"] is None or catalog[i]["price"] >= floor for i in ids)
                if "rejected" in update:
                    wrong = wrong or any(i in seen for i in ids)
            if wrong:
                r["follow_up_errors"] += 1
                r["failures"].append(f"{message!r}: follow-up wrong ({reply.action}: {reply.reply[:80]!r})")
            for item_id in ids:
                failed, unsafe = check(catalog[item_id], want)
                r["items"] += 1
                r["items_meeting_all"] += not failed
                r["child_safety_violations"] += unsafe
                if failed:
                    r["failures"].append(f"{message!r}: {catalog[item_id]['title'][:60]!r} fails {failed}")
            if ids:
                seen |= set(ids)
                previous = ids
    for r in results.values():
        r["share_items_meeting_all"] = round(r["items_meeting_all"] / max(1, r["items"]), 4)
        r["share_turns_with_items"] = round(r["turns_with_items"] / max(1, r["turns"]), 4)
    arr = np.asarray(timings)
    latency = {"turns": len(arr), "p50_ms": round(float(np.percentile(arr, 50)), 1),
               "p95_ms": round(float(np.percentile(arr, 95)), 1), "max_ms": round(float(arr.max()), 1)}
    return {"conversations": results, "latency": latency}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", required=True, help="a prepared workspace (shopsense demo --no-serve)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    assistant = Workspace(get_settings(args.home)).assistant()
    catalog = assistant.shop.catalog.items
    warm = f"bench-warm-{uuid.uuid4().hex[:6]}"
    for message in ("hello", "dinosaur toys", "恐龙玩具"):  # load the models, and the index's Chinese vectors, once
        assistant.reply(warm, message)
    report = play(assistant, catalog)
    scores, _ = per_slot_scores(load_eval_set())
    report["constraint_reader"] = {"messages": len(load_eval_set()), "per_slot": scores}
    summary = {part: {k: v for k, v in r.items() if k != "failures"} for part, r in report["conversations"].items()}
    print(json.dumps({"conversations": summary, "latency": report["latency"],
                      "constraint_reader": report["constraint_reader"]}, indent=2, default=str))
    for part, r in report["conversations"].items():
        for failure in r["failures"][:15]:
            print(f"[{part}] {failure}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
