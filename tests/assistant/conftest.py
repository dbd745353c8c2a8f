"""Assistant test fixtures: one prepared demo workspace per session (tests/workspace_fixture.py), one
assistant built from it, and helpers to hold a scripted conversation."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopsense.assistant.assistant import Assistant, ChatReply  # noqa: E402
from shopsense.core.settings import Settings  # noqa: E402
from shopsense.core.store import Store  # noqa: E402
from shopsense.serving.workspace import Workspace  # noqa: E402
from workspace_fixture import keyed_workspace  # noqa: E402


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return keyed_workspace(tmp_path_factory, "assistant")


@pytest.fixture(scope="session")
def assistant(workspace: Settings) -> Assistant:
    return Workspace(workspace).assistant()


@pytest.fixture(scope="session")
def orders(workspace: Settings) -> pd.DataFrame:
    with Store.from_settings(workspace) as store:
        return store.load().orders


@pytest.fixture(scope="session")
def catalog(assistant: Assistant) -> dict[str, dict]:
    return assistant.shop.catalog.items


class Conversation:
    """A scripted conversation in a fresh session."""

    def __init__(self, assistant: Assistant, user_id: str | None = None) -> None:
        self.assistant = assistant
        self.user_id = user_id
        self.session_id = f"t-{uuid.uuid4().hex[:12]}"
        self.replies: list[ChatReply] = []

    def say(self, message: str) -> ChatReply:
        reply = self.assistant.reply(self.session_id, message, self.user_id)
        self.replies.append(reply)
        return reply


@pytest.fixture()
def conversation(assistant: Assistant):  # noqa: ANN201 - a factory
    return lambda user_id=None: Conversation(assistant, user_id)
