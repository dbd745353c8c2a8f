"""``shopsense chat``: the shopping assistant in the terminal (interactive, or one message per ``-m``)."""

from __future__ import annotations

import json
import uuid

import typer

from shopsense.cli.common import HomeOption, console, err_console, fail, settings_for

_QUIT = {"quit", "exit", ":q", "bye"}


def register(app: typer.Typer) -> None:
    @app.command("chat")
    def chat(
        home: HomeOption = None,
        user: str | None = typer.Option(None, "--user", help="Chat as this signed-in shopper (for order questions)."),
        session: str | None = typer.Option(None, "--session", help="Continue this session (default: a new one)."),
        message: list[str] = typer.Option([], "--message", "-m",
                                          help="Send this message and print the answer (repeatable); "
                                               "without it, chat interactively."),
        as_json: bool = typer.Option(False, "--json", help="Print each answer as one JSON line."),
        generator: str | None = typer.Option(None, help="Reply backend: template, local or openai "
                                                        "(default: SHOPSENSE_GENERATOR)."),
        llm_url: str | None = typer.Option(None, help="Base URL of an OpenAI-compatible server (with openai)."),
    ) -> None:
        """Talk to the shopping assistant in the terminal (needs `shopsense demo` or `shopsense train`)."""
        from shopsense.assistant.assistant import AssistantError, clean_session_id
        from shopsense.serving.workspace import Workspace
        from shopsense.text.generator import GeneratorError

        settings = settings_for(home, create=False)
        overrides = {k: v for k, v in (("generator", generator), ("llm_url", llm_url)) if v}
        if overrides:
            settings = settings.model_copy(update=overrides)
        session_id = session or f"cli-{uuid.uuid4().hex[:12]}"
        try:
            clean_session_id(session_id)
            with console.status("loading the assistant…", spinner="dots") if not as_json else _nothing():
                assistant = Workspace(settings).assistant()
        except AssistantError as exc:
            fail(f"{exc.field}: {exc}")
        except GeneratorError as exc:
            fail(f"generator: {exc}")

        def answer(text: str) -> None:
            try:
                reply = assistant.reply(session_id, text, user)
            except AssistantError as exc:
                fail(f"{exc.field}: {exc}")
            if as_json:
                print(json.dumps({"session_id": session_id, **reply.as_dict()}, ensure_ascii=False), flush=True)
                return
            console.print(f"[bold cyan]assistant[/] ({reply.intent} → {reply.action}):", highlight=False)
            console.print(reply.reply, highlight=False, markup=False)
            if reply.sources:
                cited = ", ".join(f"{s['type']}:{s['id']}" for s in reply.sources)
                console.print(f"[dim]sources: {cited}[/]", highlight=False, markup=True)

        if message:
            for text in message:
                answer(text)
            return
        err_console.print(f"[dim]session {session_id}{f' as {user}' if user else ''} · type 'quit' to leave[/]")
        while True:
            try:
                text = console.input("[bold green]you[/]> ").strip()
            except (EOFError, KeyboardInterrupt):
                break
            if text.lower() in _QUIT:
                break
            if text:
                answer(text)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
