"""The storefront in a real browser: sign in as a demo shopper, see recommendations change, search, open a
product, and find the click in the admin dashboard (after the admin login)."""

from __future__ import annotations

import pytest

from workspace_fixture import sign_in_as_admin

pytestmark = pytest.mark.browser


def _ids(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(f"{selector} a.item-link", "els => els.map(e => e.dataset.item)")


def test_shopper_journey(browser, shop_url: str) -> None:
    page = browser.new_page()
    page.goto(f"{shop_url}/")
    assert "Welcome" in page.inner_text("h1")
    anonymous = _ids(page, "#recommended")
    assert len(anonymous) == 8

    options = page.eval_on_selector_all("#user-switch option", "els => els.map(e => e.value)")
    shopper = next(v for v in options if v)
    with page.expect_navigation():
        page.select_option("#user-switch", shopper)
    assert page.inner_text("#current-user") == shopper  # signed in through a shopper token, in a cookie
    assert page.inner_text("h1") == "Recommended for you"
    cookie = next(c for c in page.context.cookies() if c["name"] == "shopsense_shopper")
    assert cookie["httpOnly"] and cookie["value"].count(".") == 2
    personal = _ids(page, "#recommended")
    assert personal and personal != anonymous
    assert page.locator("#recommended .why").first.is_visible()

    page.fill("form.search input[name=q]", "wooden train")
    with page.expect_navigation():
        page.press("form.search input[name=q]", "Enter")
    assert "/search?q=wooden+train" in page.url
    results = _ids(page, "#results")
    assert results

    clicked = results[0]
    with page.expect_navigation():
        page.click(f"#results a.item-link[data-item='{clicked}']")
    assert page.url.endswith(f"/product/{clicked}")
    assert page.locator("#reviews h2").is_visible()
    assert _ids(page, "#similar")

    sign_in_as_admin(page, shop_url)
    rows = page.inner_text("#recent-events")
    assert "click" in rows and clicked in rows and shopper in rows
    assert page.locator("#versions").is_visible() and page.locator("#events-chart").is_visible()
    page.close()
