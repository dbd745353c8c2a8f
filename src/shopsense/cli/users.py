"""``shopsense users erase USER_ID`` (the one erasure, :func:`shopsense.serving.erasure.erase_user`) and
``shopsense users token USER_ID`` (a signed shopper token)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape

from shopsense.cli.common import HomeOption, console, err_console, fail, open_workspace

app = typer.Typer(no_args_is_help=True)


@app.command("erase")
def erase(
    user_id: Annotated[str, typer.Argument(help="The user's id, exactly as the store or the events API has it.")],
    home: HomeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Erase a user everywhere: store, events, sessions, tickets, caches, indexes and every model version
    (the models are retrained without them, then every version that holds them is deleted)."""
    from shopsense.serving.erasure import erase_user

    if not user_id.strip() or any(ord(c) < 32 for c in user_id):
        fail("USER_ID: must be non-empty, without control characters")
    with open_workspace(home) as workspace:
        with err_console.status("erasing, then retraining the models without the user…", spinner="dots"):
            report = erase_user(workspace, user_id)
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, default=str))
        return
    removed = ", ".join(f"{k} {v}" for k, v in report.removed.items() if v) or "nothing (no such user)"
    console.print(f"[bold green]erased[/] {escape(user_id)}: {removed}", highlight=False, markup=True)
    if report.retired:
        console.print(f"retired model versions that held them: {', '.join(report.retired)}", highlight=False)
    retrained = report.retrained or {}
    if retrained.get("error"):
        err_console.print(f"[yellow]warning:[/] retraining failed: {retrained['error']}", highlight=False)
    elif retrained.get("promoted"):
        console.print(f"retrained and promoted: {', '.join(retrained['promoted'])}", highlight=False)


@app.command("token")
def token(
    user_id: Annotated[str, typer.Argument(help="The shopper's id in the store (never an e-mail address).")],
    home: HomeOption = None,
    ttl: Annotated[int, typer.Option("--ttl", min=60, max=7 * 86400, help="Seconds the token is valid.")] = 3600,
) -> None:
    """Print a signed shopper token for USER_ID (what the store's backend mints with SHOPSENSE_SECRET), for
    trying the API as that shopper: `Authorization: Bearer <token>`."""
    from shopsense.core.identity import SHOPPER
    from shopsense.core.pii import find_pii

    if not user_id.strip() or any(ord(c) < 32 for c in user_id) or len(user_id) > 255:
        fail("USER_ID: must be 1-255 characters, without control characters")
    if any(span.kind in ("EMAIL", "PHONE", "CARD") for span in find_pii(user_id)):
        fail("USER_ID: looks like personal data (an e-mail, phone or card number); use the store's internal id")
    with open_workspace(home) as workspace:
        print(workspace.signer.mint(user_id, SHOPPER, ttl))
