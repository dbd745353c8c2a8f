"""Evaluation reports for text classifiers: metrics dicts, a per-class table, a confusion-matrix PNG and
the human-readable model card (``MODEL_CARD.md``) written next to ``card.json``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def classification_metrics(y_true: Sequence[Any], y_pred: Sequence[Any],
                           labels: Sequence[str] | None = None) -> dict[str, Any]:
    """Accuracy, macro/weighted F1, per-class precision/recall/F1/support and the confusion matrix.

    ``labels`` fixes the row/column order; by default it is every label seen in either list, sorted,
    so gold labels the model never predicts (and predictions such as ``out_of_scope`` that are not gold
    labels) are counted, not dropped.
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    true = np.asarray([str(v) for v in y_true], dtype=object)
    pred = np.asarray([str(v) for v in y_pred], dtype=object)
    if len(true) != len(pred):
        raise ValueError(f"{len(true)} gold labels but {len(pred)} predictions")
    order = list(labels) if labels is not None else sorted(set(true.tolist()) | set(pred.tolist()))
    if len(true) == 0:
        return {"n": 0, "accuracy": None, "macro_f1": None, "weighted_f1": None, "per_class": {},
                "labels": order, "confusion": []}
    gold = [lab for lab in order if lab in set(true.tolist())]
    p, r, f, s = precision_recall_fscore_support(true, pred, labels=order, zero_division=0)
    per_class = {lab: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                       "f1": round(float(f[i]), 4), "support": int(s[i])} for i, lab in enumerate(order)}
    # Macro-F1 over the gold classes: a label that only ever appears as a prediction has no F1 to average.
    macro = float(np.mean([per_class[lab]["f1"] for lab in gold])) if gold else 0.0
    support = np.array([per_class[lab]["support"] for lab in gold], dtype=float)
    weighted = float(np.average([per_class[lab]["f1"] for lab in gold], weights=support)) if gold else 0.0
    return {"n": int(len(true)), "accuracy": round(float((true == pred).mean()), 4),
            "macro_f1": round(macro, 4), "weighted_f1": round(weighted, 4), "per_class": per_class,
            "labels": order, "confusion": confusion_matrix(true, pred, labels=order).tolist()}


def per_class_table(metrics: dict[str, Any], title: str = "") -> Any:
    """A rich Table: one row per class (precision, recall, F1, support), then accuracy and macro-F1."""
    from rich.table import Table

    table = Table(title=title or None, title_justify="left")
    table.add_column("label")
    for name in ("precision", "recall", "f1", "support"):
        table.add_column(name, justify="right")
    for label, row in metrics["per_class"].items():
        table.add_row(label, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}",
                      str(row["support"]))
    table.add_section()
    table.add_row("accuracy", "", "", _fmt(metrics.get("accuracy")), str(metrics.get("n", "")))
    table.add_row("macro avg", "", "", _fmt(metrics.get("macro_f1")), str(metrics.get("n", "")))
    return table


def candidates_table(card: dict[str, Any]) -> Any:
    """A rich Table of the candidates a task was chosen from: validation and test figures, which won."""
    from rich.table import Table

    table = Table(title="candidates (chosen on validation macro-F1)", title_justify="left")
    for name, justify in (("candidate", "left"), ("valid macro-F1", "right"), ("test accuracy", "right"),
                          ("test macro-F1", "right"), ("fit s", "right"), ("", "left")):
        table.add_column(name, justify=justify)
    for cand in card.get("candidates", []):
        status = "published" if cand.get("published") else "; ".join(cand.get("notes", []))
        table.add_row(cand["name"], _fmt(cand["valid"].get("macro_f1")), _fmt(cand["test"].get("accuracy")),
                      _fmt(cand["test"].get("macro_f1")), str(cand.get("fit_seconds", "")), status)
    return table


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def confusion_png(metrics: dict[str, Any], path: Path, title: str = "Confusion matrix (test)") -> Path:
    """Write the confusion matrix (rows: gold, columns: predicted; colour = share of the row) as a PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    labels = metrics["labels"]
    counts = np.asarray(metrics["confusion"], dtype=float).reshape(len(labels), len(labels))
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = max(4.0, 0.45 * len(labels) + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    try:
        image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(len(labels)), labels=labels, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), labels=labels, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        ax.set_title(title)
        if len(labels) <= 30:
            for i in range(len(labels)):
                for j in range(len(labels)):
                    if counts[i, j]:
                        ax.text(j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=7,
                                color="white" if shares[i, j] > 0.5 else "black")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of gold row")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path


def model_card_markdown(card: dict[str, Any]) -> str:
    """The model card as Markdown: data, split, parameters, test metrics against the baselines, OOS."""
    lines = [f"# Model card: {card.get('task')}", ""]
    data = card.get("data", {})
    lines += ["## Data", f"- source: {data.get('source') or '(in memory)'}",
              f"- sha256: `{data.get('sha256')}`", f"- columns: text `{data.get('text_col')}`, "
              f"label `{data.get('label_col')}`",
              f"- rows used: {data.get('rows_used')} of {data.get('rows')} "
              f"(dropped: {data.get('dropped', {})})", ""]
    split = card.get("split", {})
    sizes = split.get("sizes", {})
    lines += ["## Split", f"stratified, seed {split.get('seed')}: train {sizes.get('train')}, "
              f"valid {sizes.get('valid')}, test {sizes.get('test')}", "",
              "| label | train | valid | test |", "|---|---:|---:|---:|"]
    for label, row in split.get("per_class", {}).items():
        lines.append(f"| {label} | {row.get('train', 0)} | {row.get('valid', 0)} | {row.get('test', 0)} |")
    encoder = card.get("encoder", {})
    shown = {k: v for k, v in encoder.items() if k not in ("choice", "reason")}
    lines += ["", "## Model", f"- kind: {card.get('model_kind')}", f"- encoder: {shown}",
              f"- encoder chosen: {encoder.get('reason') or '(not recorded)'}",
              *([f"- warning: {encoder['choice']['warning']}"] if (encoder.get("choice") or {}).get("warning")
                else []),
              f"- chosen: {card.get('chosen', {})}", f"- parameters: {card.get('params', {})}", ""]
    if card.get("candidates"):
        selection = card.get("selection", {})
        lines += ["## Candidates", f"Published **{selection.get('published')}**: {selection.get('reason')}.",
                  f"Rule: {selection.get('rule')}.", *[f"- warning: {w}" for w in selection.get("warnings", [])],
                  "", "| candidate | valid macro-F1 | valid accuracy | test accuracy | test macro-F1 | fit s | "
                  "eligible | notes |", "|---|---:|---:|---:|---:|---:|---|---|"]
        for cand in card["candidates"]:
            valid, test = cand.get("valid", {}), cand.get("test", {})
            mark = " (published)" if cand.get("published") else ""
            lines.append(f"| {cand.get('name')}{mark} | {_fmt(valid.get('macro_f1'))} | "
                         f"{_fmt(valid.get('accuracy'))} | {_fmt(test.get('accuracy'))} | "
                         f"{_fmt(test.get('macro_f1'))} | {cand.get('fit_seconds')} | "
                         f"{'yes' if cand.get('eligible') else 'no'} | {'; '.join(cand.get('notes', []))} |")
        lines.append("")
    test = card.get("metrics", {}).get("test", {})
    lines += ["## Test results", "| model | accuracy | macro-F1 |", "|---|---:|---:|",
              f"| this model | {_fmt(test.get('accuracy'))} | {_fmt(test.get('macro_f1'))} |"]
    for base in card.get("baselines", []):
        bt = base.get("test", {})
        lines.append(f"| baseline: {base.get('name')} | {_fmt(bt.get('accuracy'))} | "
                     f"{_fmt(bt.get('macro_f1'))} |")
    lines += ["", "| label | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for label, row in test.get("per_class", {}).items():
        lines.append(f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | "
                     f"{row['support']} |")
    lines += ["", "![confusion matrix](confusion_matrix.png)", ""]
    oos = card.get("out_of_scope")
    if oos:
        lines += ["## Out of scope", f"- unknown label: `{oos.get('unknown_label')}`",
                  f"- thresholds: confidence < {_fmt(oos.get('confidence_threshold'))} or centroid "
                  f"similarity < {_fmt(oos.get('similarity_threshold'))}", f"- method: {oos.get('method')}"]
        for key in ("valid_in_scope_rejected", "valid_oos_rejected", "test_in_scope_rejected",
                    "test_oos_rejected"):
            if oos.get(key) is not None:
                lines.append(f"- {key.replace('_', ' ')}: {oos[key]:.3f}")
        lines.append("")
    lines += [f"Trained {card.get('trained_at')} in {card.get('train_seconds')} s; shopsense "
              f"{card.get('shopsense_version')}.", ""]
    return "\n".join(lines)
