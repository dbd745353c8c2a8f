"""``shopsense nlp train|predict|evaluate`` (any task, any label set) and ``shopsense train``."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from shopsense.cli.common import HomeOption, console, err_console, fail, settings_for

app = typer.Typer(no_args_is_help=True)

TaskOpt = Annotated[str, typer.Option("--task", help="Task name (the registry model name), e.g. intent.")]
TextColOpt = Annotated[str, typer.Option("--text-col", help="Column holding the text.")]
LabelColOpt = Annotated[str, typer.Option("--label-col", help="Column holding the gold label.")]
VersionOpt = Annotated[str, typer.Option("--version", help="Version or alias: production, latest, v0003.")]
_MAX_PROBLEMS = 10
_FORMATS = (".csv", ".jsonl", ".parquet")


def register(root: typer.Typer) -> None:
    @root.command("train")
    def train(
        task: Annotated[list[str] | None, typer.Option(
            "--task", help="Train only this built-in NLP task: sentiment, intent or category (repeatable; "
                           "default: everything, recommender and search included).")] = None,
        quick: Annotated[bool, typer.Option(
            "--quick", help="Small seeded samples for the NLP tasks: a demo or smoke-test run.")] = False,
        model: Annotated[str, typer.Option("--model", help="Recommender: auto, hybrid, text_profile, itemknn, "
                                                           "ease, als or popular.")] = "auto",
        promote: Annotated[bool | None, typer.Option(
            "--promote/--no-promote", help="Always / never promote the new versions (default: the first version, "
                                           "then each one not worse than production on validation).")] = None,
        home: HomeOption = None,
    ) -> None:
        """Train everything the store can feed: recommender, search index, NLP tasks, review opinion index."""
        from shopsense.cli.serving import print_pipeline, run_pipeline
        from shopsense.serving.pipeline import TrainOptions

        options = TrainOptions(model=model, recommender=not task, nlp_tasks=tuple(task) if task else None,
                               quick_nlp=quick, promote=promote)
        print_pipeline(run_pipeline(home, options))


# ---- reading and writing tables ------------------------------------------------------------------
def read_table(path: Path, strict: bool = False) -> pd.DataFrame:
    """Read a CSV/JSONL/parquet file; unreadable files (and, when ``strict``, bad rows) end the command
    with an error saying where. Otherwise bad rows are skipped with a warning naming their lines."""
    from shopsense.core.load_readers import read_raw

    if not path.exists():
        fail(f"{path}: file not found")
    if path.is_dir():
        fail(f"{path}: is a directory; give a .csv, .jsonl or .parquet file")
    raw = read_raw(path, table="data", display=str(path))
    if raw.fatal or (strict and raw.problems):
        for problem in raw.problems[:_MAX_PROBLEMS]:
            err_console.print(str(problem), highlight=False, markup=False, soft_wrap=True)
        more = len(raw.problems) - _MAX_PROBLEMS
        fail(f"{path}: cannot use this file" + (f" ({more} more problems)" if more > 0 else ""))
    for problem in raw.problems[:_MAX_PROBLEMS]:
        err_console.print(f"warning: {problem} (row skipped)", highlight=False, markup=False, soft_wrap=True)
    if len(raw.problems) > _MAX_PROBLEMS:
        err_console.print(f"warning: ... and {len(raw.problems) - _MAX_PROBLEMS} more rows skipped")
    return raw.frame


def require_columns(frame: pd.DataFrame, path: Path, *columns: str) -> None:
    for col in columns:
        if col not in frame.columns:
            fail(f"{path}: column {col!r} not found; available columns: "
                 f"{', '.join(map(str, frame.columns)) or '(none)'}")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` atomically in the format of ``path``'s suffix (.csv, .jsonl or .parquet)."""
    from shopsense.core.atomic import write_bytes_atomic, write_text_atomic

    suffix = path.suffix.lower()
    if suffix == ".csv":
        write_text_atomic(path, frame.to_csv(index=False))
    elif suffix == ".jsonl":
        lines = []
        for record in frame.to_dict(orient="records"):
            # keys a JSONL record did not have come back from pandas as NaN: leave them out again
            clean = {k: v for k, v in record.items() if not (isinstance(v, float) and math.isnan(v))}
            lines.append(json.dumps(clean, ensure_ascii=False, default=str))
        write_text_atomic(path, "\n".join(lines) + ("\n" if lines else ""))
    else:
        import io

        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        write_bytes_atomic(path, buffer.getvalue())


def _registry(home: Path | None) -> Any:
    from shopsense.registry import Registry

    return Registry(settings_for(home, create=False).artifacts_dir)


def _load(task: str, home: Path | None, version: str) -> Any:
    from shopsense.nlp.tasks import UnknownTaskError, load_task

    try:
        return load_task(task, _registry(home), version)
    except UnknownTaskError as exc:
        fail(str(exc))


# ---- commands ------------------------------------------------------------------------------------
@app.command("train")
def train_cmd(
    task: TaskOpt,
    data: Annotated[Path, typer.Option("--data", help="Training data: .csv, .jsonl or .parquet.")],
    text_col: TextColOpt = "text",
    label_col: LabelColOpt = "label",
    full: Annotated[bool, typer.Option(
        "--full", help="Fine-tune the transformer itself (torch), then export it to ONNX.")] = False,
    unknown_label: Annotated[str | None, typer.Option(
        "--unknown-label", help="Label for out-of-scope messages (e.g. out_of_scope).")] = None,
    oos_data: Annotated[Path | None, typer.Option(
        "--oos-data", help="Messages that match no label (same text column), to calibrate and test the "
                           "out-of-scope threshold.")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 42,
    max_rows: Annotated[int | None, typer.Option("--max-rows", help="Train on a stratified sample.")] = None,
    head: Annotated[str, typer.Option("--head", help="auto | logreg | mlp (frozen-head training).")] = "auto",
    encoder: Annotated[str | None, typer.Option(
        "--encoder", help="onnx | torch | multilingual, or several (onnx,multilingual) to try each; default: "
                          "the data's language decides (multilingual once 10% or more is not English).")] = None,
    epochs: Annotated[int, typer.Option("--epochs", help="--full: passes over the data.")] = 4,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="--full: cap on steps.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="--full: batch size.")] = 16,
    threads: Annotated[int | None, typer.Option("--threads", help="--full: torch threads.")] = None,
    promote: Annotated[bool | None, typer.Option(
        "--promote/--no-promote", help="Make this version production (default: only the first).")] = None,
    home: HomeOption = None,
) -> None:
    """Train a text classifier for any task and label set; publish it with its model card."""
    from shopsense.nlp.reports import candidates_table, per_class_table
    from shopsense.nlp.training import TrainingDataError, train_task

    settings = settings_for(home)
    frame = read_table(data)
    require_columns(frame, data, text_col, label_col)
    if max_rows is not None and max_rows < len(frame):
        frame = _stratified_sample(frame, label_col, max_rows, seed)
    oos_texts = None
    if oos_data is not None:
        oos_frame = read_table(oos_data)
        col = text_col if text_col in oos_frame.columns else oos_frame.columns[0] if \
            len(oos_frame.columns) == 1 else None
        if col is None:
            require_columns(oos_frame, oos_data, text_col)
        oos_texts = oos_frame[col].dropna().astype(str).tolist()
    finetune = {"epochs": epochs, "max_steps": max_steps, "batch_size": batch_size,
                "threads": threads or settings.encoder_threads} if full else None
    try:
        version = train_task(
            task, frame, text_col, label_col, _registry(home), full=full, seed=seed,
            unknown_label=unknown_label, oos_texts=oos_texts, head=head,
            encoder_backend=encoder, promote=promote,
            source=str(data), source_sha256=_file_sha256(data), finetune_params=finetune,
            cache_dir=str(settings.cache_dir), verbose=True,
            on_step=lambda message: err_console.print(f"[dim]-[/] {message}", highlight=False))
    except (TrainingDataError, RuntimeError, ValueError) as exc:
        fail(str(exc))
    card = version.card
    test = card["metrics"]["test"]
    console.print(f"encoder: {card['encoder']['reason']}", highlight=False, markup=False)
    if card["encoder"]["choice"].get("warning"):
        err_console.print(f"warning: {card['encoder']['choice']['warning']}", highlight=False, markup=False)
    console.print(candidates_table(card))
    for line in card["selection"]["warnings"]:
        err_console.print(f"warning: {line}", highlight=False, markup=False)
    console.print(f"published {card['selection']['published']}: {card['selection']['reason']}",
                  highlight=False, markup=False)
    console.print(per_class_table(test, title=f"{task} {version.version}: test set"))
    for base in card["baselines"]:
        console.print(f"baseline {base['name']}: accuracy {base['test']['accuracy']:.3f}, "
                      f"macro-F1 {base['test']['macro_f1']:.3f}", highlight=False)
    oos = card.get("out_of_scope")
    if oos:
        rate = ""
        if "test_oos_rejected" in oos:
            rate = f", unrelated test messages rejected {oos['test_oos_rejected']:.1%}"
        console.print(f"out of scope -> {oos['unknown_label']!r}: in-scope test messages rejected "
                      f"{oos['test_in_scope_rejected']:.1%}{rate}", highlight=False)
    production = _registry(home).production_version(task)
    console.print(f"[bold green]published[/] {task} {version.version} ({version.path})"
                  f"{'; production' if production == version.version else ''}", highlight=False)


def _stratified_sample(frame: pd.DataFrame, label_col: str, n: int, seed: int) -> pd.DataFrame:
    from sklearn.model_selection import train_test_split

    try:
        sample, _ = train_test_split(frame, train_size=n, random_state=seed, stratify=frame[label_col])
    except ValueError:  # a label too rare to stratify on: plain seeded sample
        sample = frame.sample(n=n, random_state=seed)
    return sample.sort_index()


@app.command("predict")
def predict_cmd(
    task: TaskOpt,
    input: Annotated[Path, typer.Option("--input", help="Texts to label: .csv, .jsonl or .parquet.")],
    output: Annotated[Path, typer.Option(
        "--output", help="Where to write the input rows plus label and confidence.")],
    text_col: TextColOpt = "text",
    version: VersionOpt = "production",
    home: HomeOption = None,
) -> None:
    """Label every row of a file; writes the same rows with ``label`` and ``confidence`` added."""
    if output.suffix.lower() not in _FORMATS:
        fail(f"{output}: unsupported output format {output.suffix!r}; use .csv, .jsonl or .parquet")
    model = _load(task, home, version)
    frame = read_table(input, strict=True)
    require_columns(frame, input, text_col)
    predictions = model.predict_with_confidence(frame[text_col].tolist())
    out = frame.copy()
    out["label"] = [p.label for p in predictions]
    out["confidence"] = [round(p.confidence, 4) for p in predictions]
    write_table(out, output)
    counts = out["label"].value_counts()
    console.print(f"labelled {len(out)} rows with {task} {model.version.version} -> {output}",
                  highlight=False)
    console.print(", ".join(f"{k}: {v}" for k, v in counts.items()), highlight=False, markup=False)


@app.command("evaluate")
def evaluate_cmd(
    task: TaskOpt,
    data: Annotated[Path, typer.Option("--data", help="Labelled data: .csv, .jsonl or .parquet.")],
    text_col: TextColOpt = "text",
    label_col: LabelColOpt = "label",
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the metrics as JSON.")] = None,
    version: VersionOpt = "production",
    home: HomeOption = None,
) -> None:
    """Score a trained task on labelled data: per-class table, accuracy, macro-F1."""
    from shopsense.core.atomic import write_json_atomic
    from shopsense.nlp.reports import classification_metrics, per_class_table

    model = _load(task, home, version)
    frame = read_table(data)
    require_columns(frame, data, text_col, label_col)
    gold = frame[label_col].astype(object).where(frame[label_col].notna(), "").astype(str).str.strip()
    keep = gold.ne("")
    if not keep.any():
        fail(f"{data}: column {label_col!r} has no labels")
    if (~keep).any():
        err_console.print(f"warning: {int((~keep).sum())} rows without a label in {label_col!r} skipped")
    texts = frame.loc[keep, text_col].tolist()
    predicted = model.predict(texts)
    metrics = classification_metrics(gold[keep].tolist(), predicted)
    console.print(per_class_table(metrics, title=f"{task} {model.version.version} on {data.name}"))
    unknown = sorted(set(gold[keep]) - set(model.labels))
    if unknown:
        err_console.print(f"note: gold labels the model was not trained on: {', '.join(unknown)}",
                          highlight=False, markup=False)
    console.print(f"accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}  n {metrics['n']}",
                  highlight=False)
    if json_out is not None:
        write_json_atomic(json_out, {"task": task, "version": model.version.version, "data": str(data),
                                     **metrics})
        console.print(f"metrics written to {json_out}", highlight=False)
