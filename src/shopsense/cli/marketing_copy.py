"""The body of ``shopsense copy``: checked ad-copy variants for an item, as a table or JSON."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from shopsense.cli.common import console, fail
from shopsense.core.settings import Settings


def _generator(settings: Settings, backend: str | None, llm_url: str | None) -> Any:
    from shopsense.text.generator import GeneratorError, generator_from_settings, get_generator

    try:
        if backend is None and llm_url is None:
            return generator_from_settings(settings)
        if backend == "openai" or (backend is None and llm_url):
            return get_generator("openai", base_url=llm_url or settings.llm_url or "", model=settings.llm_model,
                                 api_key=settings.llm_api_key)
        if backend == "local":
            return get_generator("local", model_path=settings.llm_model_path, threads=settings.encoder_threads)
        return get_generator(backend or "template")
    except GeneratorError as exc:
        fail(f"--backend: {exc}")


def run_copy(settings: Settings, *, item_id: str, channel: str, language: str, n: int, tone: str, seed: int,
             backend: str | None, llm_url: str | None, aspects: list[str], banned: list[str], as_json: bool,
             no_highlights: bool) -> None:
    """Write and print the variants; every bad option ends in a one-line error naming it."""
    from shopsense.core.store import Store
    from shopsense.marketing.copy import CopyError, validate_request
    from shopsense.marketing.copy_service import generate_copy, opinion_summary

    try:
        validate_request(channel, language, tone, n)
    except CopyError as exc:
        fail(f"--{exc.field}: {exc.message}")
    generator = _generator(settings, backend, llm_url)
    with Store.from_settings(settings) as store:
        if not store.counts().get("items"):
            fail(f"the store in {settings.home} has no items; run `shopsense import DIR` or `shopsense demo` first")
        data = store.load()
        if item_id not in set(data.items["item_id"]):
            fail(f"ITEM_ID: unknown item {item_id!r} in the store at {settings.home}")
        summary = None if no_highlights else opinion_summary(settings, store, item_id)
    try:
        result = generate_copy(data, item_id, channel, language, n, tone, seed, generator, summary, aspects or None,
                           banned)
    except CopyError as exc:
        fail(f"{exc.field}: {exc.message}")
    if as_json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{channel} copy for {item_id} ({language}, {tone}, backend {result.backend})",
                  title_justify="left", show_lines=True)
    for col in ("#", "text", "chars", "checks", "facts used"):
        table.add_column(col, justify="right" if col in ("#", "chars") else "left", overflow="fold")
    for i, v in enumerate(result.variants, 1):
        checks = "passed" if v.checks["passed"] else "; ".join(v.checks["violations"])
        if v.checks.get("removed"):
            checks += f" ({len(v.checks['removed'])} sentence(s) removed)"
        if v.fallback_used:
            checks += " (model text rejected: grounded draft used)"
        table.add_row(str(i), v.text, f"{len(v.text)}/{v.checks['limit']}", checks,
                      "\n".join(f["text"][:60] for f in v.facts))
    console.print(table)
    if result.rejected:
        console.print(f"{len(result.rejected)} candidate(s) rejected: "
                      + "; ".join(sorted({r['reason'] for r in result.rejected})), highlight=False)
    if not result.variants:
        fail("no variant passed the checks for this item; add facts (attributes, description) or drop banned words",
             code=1)
