"""``shopsense llm``: run the local language model as an OpenAI-compatible server, or try a generator."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import typer

from shopsense.cli.common import HomeOption, console, fail, settings_for

app = typer.Typer(no_args_is_help=True)


@app.command("serve")
def serve(
    port: int = typer.Option(8081, min=0, max=65535, help="Loopback port (0: any free port)."),
    model_path: Path | None = typer.Option(None, help="A GGUF file (default: the packaged SmolLM2-135M)."),
    threads: int = typer.Option(2, min=1, help="CPU threads."),
    n_ctx: int = typer.Option(2048, min=256, help="Context length in tokens."),
) -> None:
    """Serve a local GGUF model on 127.0.0.1 with an OpenAI-compatible /v1/chat/completions."""
    from shopsense.text.generator import GeneratorError, LocalLlamaServer

    try:
        server = LocalLlamaServer(model_path, n_ctx=n_ctx, threads=threads, port=port)
    except GeneratorError as exc:
        fail(str(exc))
    # One line a supervisor (or a test) can read to learn the address.
    print(f"listening {server.base_url} model={server.model_name}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.close()


@app.command("try")
def try_generator(
    prompt: str = typer.Argument(..., help="A shopper message to answer from the given facts."),
    fact: list[str] = typer.Option([], "--fact", help="A fact the reply may use (repeatable)."),
    draft: str = typer.Option(..., help="The template reply (used when the model's text is not grounded)."),
    home: HomeOption = None,
) -> None:
    """Phrase a draft with the configured generator and show the grounding check's verdict."""
    from shopsense.text.generator import Facts, GeneratorError, generator_from_settings

    settings = settings_for(home)
    try:
        generator = generator_from_settings(settings)
    except GeneratorError as exc:
        fail(str(exc))
    facts = Facts()
    for number, text in enumerate(fact, 1):
        facts.add("other", f"fact-{number}", text)
    result = generator.generate("Answer the shopper in one or two sentences.", facts, draft, user_message=prompt)
    console.print(result.text, highlight=False)
    verdict = "fallback to the draft: " + "; ".join(result.violations) if result.fallback_used else "grounded"
    console.print(f"[dim]{result.backend}: {verdict}[/]", highlight=False)
