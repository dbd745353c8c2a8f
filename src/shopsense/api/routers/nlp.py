"""Text analysis: ``POST /v1/nlp/sentiment``, ``/v1/nlp/classify`` (intent, category), ``/v1/nlp/entities``.

Trained tasks are the workspace's production versions (loaded on first use, reloaded after a promotion).
Sentiment falls back to the VADER/SnowNLP lexicon when no sentiment model is trained, and says so.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from shopsense.api.deps import WorkspaceDep, require_read
from shopsense.api.errors import ApiError
from shopsense.api.schemas import ClassifyIn, EntitiesOut, EntityOut, LabelOut, TextIn

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/nlp", tags=["nlp"], dependencies=[Depends(require_read)])


def _predict(task: Any, name: str, text: str) -> LabelOut:
    pred = task.predict_with_confidence([text])[0]
    version = getattr(task, "version", None)
    version = getattr(version, "version", version)  # TaskModel.version is the registry's ModelVersion
    return LabelOut(label=str(pred.label), confidence=round(float(pred.confidence), 6),
                    in_scope=bool(getattr(pred, "in_scope", True)),
                    scores={str(k): round(float(v), 6) for k, v in (getattr(pred, "scores", None) or {}).items()},
                    model=name, model_version=str(version) if version is not None else None)


def _lexicon(text: str) -> LabelOut:
    from shopsense.nlp.lexicon import lexicon_sentiment

    polarity = float(lexicon_sentiment([text])[0])
    label = "positive" if polarity >= 0.05 else "negative" if polarity <= -0.05 else "neutral"
    return LabelOut(label=label, confidence=round(abs(polarity) if label != "neutral" else 1 - abs(polarity), 6),
                    scores={"polarity": round(polarity, 6)}, model="lexicon (no sentiment model trained)")


@router.post("/sentiment", response_model=LabelOut)
async def sentiment(body: TextIn, workspace: WorkspaceDep) -> LabelOut:
    """Positive, negative or neutral, with the model's confidence."""
    task = await run_in_threadpool(workspace.nlp_task, "sentiment")
    if task is None:
        return await run_in_threadpool(_lexicon, body.text)
    return await run_in_threadpool(_predict, task, "sentiment", body.text)


@router.post("/classify", response_model=LabelOut)
async def classify(body: ClassifyIn, workspace: WorkspaceDep) -> LabelOut:
    """The intent of a customer message, or the catalog category of a product text."""
    task = await run_in_threadpool(workspace.nlp_task, body.task)
    if task is None:
        raise ApiError(404, f"the {body.task!r} model is not trained in this workspace; run `shopsense train`",
                       field="task")
    return await run_in_threadpool(_predict, task, body.task, body.text)


@router.post("/entities", response_model=EntitiesOut)
async def entities(body: TextIn, workspace: WorkspaceDep) -> EntitiesOut:
    """Order ids, money and price ranges, colours, sizes, brands, categories, places, names (emails and
    phone numbers masked)."""
    extractor = await run_in_threadpool(workspace.entities)
    found = await run_in_threadpool(extractor.extract, body.text)
    return EntitiesOut(entities=[EntityOut(type=e.type, text=e.text, start=e.start, end=e.end,
                                           value=_plain(e.value)) for e in found])


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)
