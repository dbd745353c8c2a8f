"""Copy generation for a workspace: the store's tables, its opinion index for review highlights, and the
configured generator, behind one call shared by the CLI and the API."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shopsense.core.records import StoreData
from shopsense.core.settings import Settings
from shopsense.marketing.copy import CopyResult, CopyWriter, build_item_facts, validate_request
from shopsense.marketing.copy_checks import DEFAULT_BANNED

log = logging.getLogger(__name__)


def opinion_index_built(settings: Settings) -> bool:
    """Whether an opinion index is cached on disk (building one reads every review: minutes, not a request's
    worth of time)."""
    return any((Path(settings.cache_dir) / "opinions").glob("*/mentions.parquet"))


def opinion_summary(settings: Settings | None, store: Any, item_id: str, build: bool = True) -> dict[str, Any] | None:
    """The item's praised aspects from the workspace's opinion index, or None (no mentions, no index and
    ``build`` is false, or none can be built): copy then quotes 4-5 star reviews directly."""
    if settings is None or (not build and not opinion_index_built(settings)):
        return None
    try:
        from shopsense.marketing.opinion_store import load_opinions

        index = load_opinions(settings, store)
    except Exception as exc:  # noqa: BLE001 - highlights are optional; copy must still be written
        log.warning("no opinion index for copy highlights: %s", exc)
        return None
    return summary_from_index(index, item_id)


def summary_from_index(index: Any, item_id: str) -> dict[str, Any] | None:
    """The item's opinion summary (praised aspects with quotes) from an :class:`OpinionIndex`, or None."""
    if index.select(item_id=item_id).empty:
        return None
    summary = index.summary(top=5, n_quotes=2, item_id=item_id)
    return summary if summary.get("praised") else None


def generate_copy(data: StoreData, item_id: str, channel: str = "short", language: str = "en", n: int = 3,
                  tone: str = "friendly", seed: int = 0, generator: Any = None, summary: dict[str, Any] | None = None,
                  aspects: Sequence[str] | None = None, banned_words: Sequence[str] = ()) -> CopyResult:
    """``n`` checked copy variants for one item of ``data`` (see :class:`CopyWriter`).

    ``summary``: the item's opinion summary (:func:`opinion_summary`) for review highlights; ``aspects``:
    only these praised aspects may be used; ``banned_words`` are added to the default list.
    """
    validate_request(channel, language, tone, n)
    facts = build_item_facts(data.items, data.reviews, item_id, summary=summary, aspects=aspects)
    writer = CopyWriter(generator=generator, banned_words=tuple(DEFAULT_BANNED) + tuple(banned_words))
    return writer.write(facts, channel, language, n, tone, seed)
