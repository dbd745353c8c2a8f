"""The opinion dashboard in a real browser (chromium via Playwright) against ``shopsense serve``."""

from __future__ import annotations

import pytest

from workspace_fixture import sign_in_as_admin

pytestmark = pytest.mark.browser


def test_opinion_dashboard(marketing_browser, marketing_url: str, opinions) -> None:
    page = marketing_browser.new_page()
    sign_in_as_admin(page, marketing_url)
    with page.expect_navigation():
        page.click("nav a[href='/admin/opinions']")
    assert page.inner_text("h1") == "Opinion dashboard"
    assert page.inner_text("#scope") == "all reviews"
    bars = page.locator("#aspect-chart g.aspect-bar")
    assert bars.count() == page.locator("#aspect-table tr").count() - 1 > 5
    fills = page.eval_on_selector_all("#aspect-chart g.aspect-bar rect",
                                      "rs => [...new Set(rs.map(r => getComputedStyle(r).fill))]")
    assert {"rgb(47, 158, 68)", "rgb(224, 49, 49)"} <= set(fills)  # positive green, negative red, as the legend says
    top = opinions.aspect_table()["aspect"].iloc[0]
    assert page.locator("#aspect-table tr").nth(1).locator("td").first.inner_text() == top
    page.wait_for_function("document.getElementById('trend-chart').complete")
    assert page.eval_on_selector("#trend-chart", "img => img.naturalWidth") > 100  # the PNG really loaded
    assert page.locator("#praised blockquote").count() > 0
    assert "No significant rise" in page.inner_text("#alerts")
    assert page.locator("#audit tr").count() > 5  # the ranking of items that would gain most

    brands = opinions.mentions["brand"]
    brand = brands[brands != ""].value_counts().index[0]
    page.select_option("#brand-select", brand)
    with page.expect_navigation():
        page.click("#scope-form button[type=submit]")
    assert page.inner_text("#scope") == brand
    assert f"brand={brand.replace(' ', '+')}" in page.url
    expected = opinions.aspect_table(brand=brand)["aspect"].iloc[0]
    assert page.locator("#aspect-table tr").nth(1).locator("td").first.inner_text() == expected
    page.wait_for_function("document.getElementById('trend-chart').complete")
    assert page.eval_on_selector("#trend-chart", "img => img.naturalWidth") > 100

    item = opinions.mentions["item_id"].value_counts().index[0]
    page.goto(f"{marketing_url}/admin/opinions?item={item}")
    assert page.inner_text("#scope") == item
    assert page.locator("#audit tr").count() == 2  # the item's own audit row
    assert page.locator("#audit td").nth(3).inner_text().strip()  # a suggested rewrite
    page.close()
