"""Every storefront page, for two stores, in a real browser: the store's own name in the header, the title and
the chat widget, prices written the store's way, and no console errors. Screenshots go to the test's folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

PAGES = ["/", "/search?q=wooden+train", "/admin/login"]
STORES = {  # fixture, name, a price as the store writes it (the demo's items are priced in GBP)
    "demo": ("shop_url", "ToyNest", re.compile(r"^£\d+\.\d\d$")),
    "second": ("second_store_url", "Brick & Byte", re.compile(r"^\d+,\d\d\s£$")),
}


@pytest.mark.parametrize("store", list(STORES))
def test_every_page_is_the_store_s_own(store: str, browser, request: pytest.FixtureRequest,
                                       tmp_path: Path) -> None:
    fixture, name, price_shape = STORES[store]
    url = request.getfixturevalue(fixture)
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{url}/")
    item = page.eval_on_selector("#recommended a.item-link", "e => e.dataset.item")
    for path in [*PAGES, f"/product/{item}"]:
        page.goto(f"{url}{path}")
        assert page.inner_text("header.top a.brand").strip() == name, path
        assert page.title().endswith(f"· {name}"), (path, page.title())
        assert page.inner_text("#shopsense-chat header strong") == f"{name} assistant", path
        page.screenshot(path=str(tmp_path / f"{store}{path.replace('/', '_').replace('?', '_')}.png"),
                        full_page=True)
    price = page.inner_text("#product .price").strip()
    assert price_shape.match(price), price
    other = next(n for s, (_, n, _) in STORES.items() if s != store)
    assert other not in page.content()
    assert errors == [], errors
    assert len(list(tmp_path.glob("*.png"))) == len(PAGES) + 1
    page.close()
