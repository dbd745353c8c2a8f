"""The chat widget in a real browser against a real ``shopsense serve``: open it, ask for something, get
catalog links streamed in, refer back to the list, and vote on a reply (a stored ``chat_feedback`` event)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from shopsense.core.settings import Settings
from shopsense.core.store import Store
from workspace_fixture import served, skip_without_chromium

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def shop(workspace: Settings) -> Iterator[str]:
    skip_without_chromium()
    with served(workspace.home) as url:
        yield url


def test_chat_widget_conversation(shop: str, workspace: Settings, chromium) -> None:  # noqa: ANN001
    page = chromium.new_page()
    try:
        page.goto(f"{shop}/")
        page.click("#shopsense-chat .chat-open")
        page.fill("#shopsense-chat input[name=message]", "I want to buy a wooden train, what do you recommend?")
        page.press("#shopsense-chat input[name=message]", "Enter")
        page.wait_for_selector("#shopsense-chat .msg.bot .chat-items a", timeout=60_000)
        links = page.eval_on_selector_all("#shopsense-chat .chat-items a", "els => els.map(e => e.pathname)")
        assert len(links) == 3 and all(link.startswith("/product/toy_") for link in links)
        page.fill("#shopsense-chat input[name=message]", "tell me about the second one")
        page.press("#shopsense-chat input[name=message]", "Enter")
        # Selectors, not wait_for_function: the page's CSP forbids evaluating strings, as it should.
        page.locator("#shopsense-chat .chat-items").nth(1).wait_for(timeout=60_000)
        second = page.eval_on_selector_all("#shopsense-chat .chat-items",
                                           "els => els[1].querySelector('a').pathname")
        assert second == links[1]
        page.locator("#shopsense-chat .chat-vote button").last.click()  # thumbs down on the last reply
        page.locator("#shopsense-chat .chat-vote").last.locator("button[disabled]").first.wait_for(timeout=10_000)
        session = page.evaluate("Object.entries(localStorage).find(([k]) => k.startsWith('shopsense-chat'))[1]")
    finally:
        page.close()
    with Store.from_settings(workspace) as store:
        events = store.events_since(None)
    votes = events[(events["type"] == "chat_feedback") & (events["session_id"] == session)]
    for _ in range(20):  # the vote is sent without waiting for it: give the server a moment
        if len(votes):
            break
        time.sleep(0.25)
        with Store.from_settings(workspace) as store:
            events = store.events_since(None)
        votes = events[(events["type"] == "chat_feedback") & (events["session_id"] == session)]
    assert len(votes) == 1 and votes.iloc[0]["value"] == -1.0
