"""The copy studio in a real browser: pick an item from the suggestions, choose channel and language,
write copy, and read the checked variants with the facts they used."""

from __future__ import annotations

import pytest

from workspace_fixture import sign_in_as_admin

pytestmark = pytest.mark.browser


def test_copy_studio(marketing_browser, marketing_url: str) -> None:
    page = marketing_browser.new_page()
    sign_in_as_admin(page, marketing_url)
    with page.expect_navigation():
        page.click("nav a[href='/admin/copy']")
    assert page.inner_text("h1") == "Copy studio"
    suggestions = page.eval_on_selector_all("#item-suggestions option", "els => els.map(e => e.value)")
    assert suggestions
    page.fill("#item-input", suggestions[0])
    page.select_option("#channel-select", "headline")
    page.select_option("#language-select", "zh")
    page.fill("#n-input", "3")
    with page.expect_navigation():
        page.click("#write-button")
    assert f"item={suggestions[0]}" in page.url
    texts = page.eval_on_selector_all("#variants .copy-text", "els => els.map(e => e.textContent.trim())")
    assert len(texts) == 3 and len(set(texts)) == 3
    assert all(len(t) <= 30 for t in texts)
    assert page.locator("#variants .check.ok").count() == 3
    page.locator("#variants details summary").first.click()
    assert page.locator("#variants .facts li").first.is_visible()
    # the form keeps the choices, and another channel writes longer copy
    assert page.input_value("#channel-select") == "headline"
    page.select_option("#channel-select", "description")
    page.select_option("#language-select", "en")
    with page.expect_navigation():
        page.click("#write-button")
    lengths = page.eval_on_selector_all("#variants .copy-text", "els => els.map(e => e.textContent.trim().length)")
    assert lengths and max(lengths) > 30 and all(n <= 500 for n in lengths)
    # an unknown item is a clear message, not an error page
    page.fill("#item-input", "no-such-item")
    with page.expect_navigation():
        page.click("#write-button")
    assert "unknown item" in page.inner_text("#copy-error")
    page.close()
