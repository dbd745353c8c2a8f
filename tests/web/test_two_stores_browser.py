"""Every page, storefront and dashboard, for two stores in a real browser: the demo (ToyNest, pounds, letter tiles)
and a second shop from a store directory of its own (Brick & Byte, euros, German, a picture file per item). Each
page shows the store's own name in the header, the title and the chat widget, prices written the store's way,
the store's pictures (loaded, not broken) and no console error. Screenshots go to the test's folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workspace_fixture import sign_in_as_admin

pytestmark = pytest.mark.browser

STOREFRONT = ["/", "/search?q=train", "/admin/login"]
DASHBOARD = ["/admin", "/admin/opinions", "/admin/copy"]
STORES = {  # fixture, name, a price as the store writes it, whether its items have pictures
    "demo": ("shop_url", "ToyNest", re.compile(r"^£\d+\.\d\d$"), False),
    "second": ("second_store_url", "Brick & Byte", re.compile(r"^\d+,\d\d\s€$"), True),
}


def _shot(page, folder: Path, store: str, path: str) -> None:  # noqa: ANN001 - a Playwright page
    page.screenshot(path=str(folder / f"{store}{re.sub(r'[/?=+]', '_', path)}.png"), full_page=True)


@pytest.mark.parametrize("store", list(STORES))
def test_every_page_is_the_store_s_own(store: str, browser, request: pytest.FixtureRequest,
                                       tmp_path: Path) -> None:
    fixture, name, price_shape, pictures = STORES[store]
    url = request.getfixturevalue(fixture)
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{url}/")
    item = page.eval_on_selector("#recommended a.item-link", "e => e.dataset.item")
    for path in [*STOREFRONT, f"/product/{item}"]:
        page.goto(f"{url}{path}")
        page.wait_for_load_state("load")
        assert page.inner_text("header.top a.brand").strip() == name, path
        assert page.title().endswith(f"· {name}"), (path, page.title())
        assert page.inner_text("#shopsense-chat header strong") == f"{name} assistant", path
        images = page.eval_on_selector_all("main img", "els => els.map(e => [e.getAttribute('src'), e.naturalWidth])")
        if pictures and path != "/admin/login":
            assert images and all(src.startswith("/media/") and width > 0 for src, width in images), (path, images)
        else:
            assert images == [], (path, images)  # letter tiles, never a broken picture
        _shot(page, tmp_path, store, path)
    price = page.inner_text("#product .price").strip()
    assert price_shape.match(price), price
    other = next(n for s, (_, n, _, _) in STORES.items() if s != store)
    assert other not in page.content()

    sign_in_as_admin(page, url)
    for path in DASHBOARD:
        page.goto(f"{url}{path}")
        page.wait_for_load_state("load")
        assert page.inner_text("header.top a.brand").strip() == name, path
        assert page.title().endswith(f"· {name}"), (path, page.title())
        assert other not in page.content(), path
        _shot(page, tmp_path, store, path)
    assert errors == [], errors
    assert len(list(tmp_path.glob("*.png"))) == len(STOREFRONT) + 1 + len(DASHBOARD)
    page.close()
