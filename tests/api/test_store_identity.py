"""The store's identity (store.json / SHOPSENSE_STORE_*): checked with file, line and field, kept in the store's
database by an import, and written by every page with prices in the store's locale."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopsense.api.app import create_app  # noqa: E402
from shopsense.cli import app as cli  # noqa: E402
from shopsense.core.loaders import load_store_dir  # noqa: E402
from shopsense.core.settings import Settings  # noqa: E402
from shopsense.core.store import Store, import_directory  # noqa: E402
from shopsense.core.store_identity import StoreIdentity, displayable_url, identity_of, read_file  # noqa: E402
from shopsense.core.validation import format_problem  # noqa: E402
from shopsense.data import demo_store_path  # noqa: E402

TINY = Path(__file__).resolve().parents[1] / "data" / "good_store"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "store.json"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "where", "says"), [
    ('{"name": "Brick", "currency": "EUR",\n  "locale": "de_DE",}', "store.json:2:column 21", "not valid JSON"),
    ('["Brick"]', "store.json", "expected a JSON object"),
    ('{"name": "Brick", "currency": "EURO"}', "store.json:currency", "not an ISO 4217 currency code"),
    ('{"locale": "xx_YY"}', "store.json:locale", "not a known locale"),
    ('{"name": 42}', "store.json:name", "must be a non-empty string"),
    ('{"name": "' + "x" * 81 + '"}', "store.json:name", "at most 80"),
    ('{"logo": "javascript:alert(1)"}', "store.json:logo", "https:// URL or a path on this server"),
])
def test_a_bad_store_json_says_what_and_where(tmp_path: Path, text: str, where: str, says: str) -> None:
    kept, problems = read_file(_write(tmp_path, text))
    errors = [format_problem(p) for p in problems if p.severity == "error"]
    assert len(errors) == 1 and errors[0].startswith(where + ": ") and says in errors[0], errors


def test_fields_are_normalised_and_unknown_ones_warned(tmp_path: Path) -> None:
    kept, problems = read_file(_write(tmp_path, json.dumps(
        {"name": " Brick & Byte ", "currency": "eur", "locale": "de-DE", "logo": "https://cdn.example/l.png",
         "colour": "red"})))
    assert kept == {"name": "Brick & Byte", "currency": "EUR", "locale": "de_DE", "logo": "https://cdn.example/l.png"}
    assert [(p.severity, p.column) for p in problems] == [("warning", "colour")]


def test_prices_are_written_the_locale_s_way() -> None:
    assert StoreIdentity(currency="GBP", locale="en_GB").price(1234.5) == "£1,234.50"
    assert StoreIdentity(currency="EUR", locale="de_DE").price(1234.5).replace("\xa0", " ") == "1.234,50 €"
    assert StoreIdentity(currency="CNY", locale="zh_CN").price(9.9) == "¥9.90"
    assert StoreIdentity(currency="EUR", locale="en_GB").price(9.99, "usd") == "US$9.99"  # the item's own
    assert StoreIdentity().price(None) == ""


def test_import_keeps_the_identity_in_the_store_and_settings_override_it(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    shutil.copytree(TINY, folder)
    _write(folder, '{"name": "Brick & Byte", "currency": "EUR", "locale": "de_DE"}')
    assert load_store_dir(folder).report.ok
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        summary = import_directory(folder, store)
        assert summary.identity_changed and store.identity()["name"] == "Brick & Byte"
        generation = store.generation()
        again = import_directory(folder, store)
        assert again.unchanged and not again.identity_changed and store.generation() == generation
        _write(folder, '{"name": "Brick and Byte"}')
        renamed = import_directory(folder, store)
        assert renamed.unchanged and renamed.identity_changed and store.generation() == generation + 1
        assert store.identity() == {"name": "Brick and Byte"}
        stored = store.identity()
    settings = Settings(home=tmp_path / "h", store_locale="fr_FR", store_currency="bogus")
    identity = identity_of(stored, settings)
    assert (identity.name, identity.locale, identity.currency) == ("Brick and Byte", "fr_FR", "USD")


def test_data_check_and_import_refuse_a_bad_store_json(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    shutil.copytree(TINY, folder)
    _write(folder, '{"currency": "EURO"}')
    runner = CliRunner()
    checked = runner.invoke(cli, ["data", "check", str(folder)])
    assert checked.exit_code != 0 and "store.json:currency" in checked.output, checked.output
    imported = runner.invoke(cli, ["import", str(folder), "--home", str(tmp_path / "home")])
    assert imported.exit_code == 1 and "store.json:currency" in imported.output, imported.output


def test_the_demo_store_names_itself_and_pages_follow_the_settings(workspace: Settings) -> None:
    assert json.loads((demo_store_path() / "store.json").read_text()) == {
        "name": "ToyNest", "currency": "GBP", "locale": "en_GB"}
    with TestClient(create_app(workspace), raise_server_exceptions=False) as client:
        home = client.get("/").text
        assert "· ToyNest</title>" in home and "ToyNest assistant" in home and "£" in home
        item = next(iter(client.app.state.workspace.catalog().items))
    other = workspace.model_copy(update={"store_name": "Brick & Byte", "store_locale": "de_DE",
                                         "store_logo": "/static/logo.svg"})
    with TestClient(create_app(other), raise_server_exceptions=False) as client:
        for path in ("/", f"/product/{item}", "/search?q=train", "/admin/login"):
            page = client.get(path)
            assert page.status_code == 200, path
            assert "ToyNest" not in page.text and "Brick &amp; Byte" in page.text, path
        home = client.get("/").text
        assert 'lang="de"' in home and "Brick &amp; Byte assistant" in home and 'src="/static/logo.svg"' in home
        price = client.app.state.workspace.catalog().items[item]["price"]
        product = client.get(f"/product/{item}").text
        assert f"{price:.2f}".replace(".", ",") in product  # a decimal comma: de_DE


def test_home_hidden_categories() -> None:
    default = StoreIdentity()
    assert default.hides_on_home("Fancy Dress > Costumes > Adults")
    assert not default.hides_on_home("Fancy Dress > Costumes > Kids & Toddlers")
    chosen = StoreIdentity(home_hidden=("Party Supplies",))
    assert chosen.hides_on_home("Party Supplies > Invitations") and not chosen.hides_on_home("Party")
    assert not chosen.hides_on_home("Fancy Dress > Costumes > Adults")  # the store's own list replaces the rule


def test_the_home_page_keeps_adult_items_off_and_never_repeats_a_list(client: TestClient) -> None:
    import re

    catalog = client.app.state.workspace.catalog()
    page = client.get("/").text
    lists = {name: re.findall(r'data-item="([^"]+)"', body)
             for name, body in re.findall(r'data-list="([^"]+)">(.*?)</ul>', page, re.DOTALL)}
    assert len(lists) == 2 and all(len(ids) == 8 for ids in lists.values()), lists
    first, second = lists.values()
    assert not set(first) & set(second)
    assert not any("Adults" in catalog.items[i]["category"] for ids in lists.values() for i in ids)
    adult = [i for i, row in catalog.items.items() if "Adults" in row["category"]]
    assert adult  # the demo store does sell them: search still finds them


def test_trending_and_a_stranger_s_list_keep_the_store_s_audience(client: TestClient) -> None:
    catalog = client.app.state.workspace.catalog()
    adult = {i for i, row in catalog.items.items() if "Adults" in row["category"]}
    trending = [i["item_id"] for i in client.get("/v1/trending", params={"k": 100}).json()["items"]]
    stranger = [i["item_id"] for i in client.get("/v1/recommendations", params={"k": 100}).json()["items"]]
    assert len(trending) == 100 and len(stranger) == 100
    assert not adult & set(trending) and not adult & set(stranger)
    # naming the category is asking for it
    costumes = client.get("/v1/trending", params={"k": 100, "category": "Fancy Dress > Costumes > Adults"}).json()
    assert costumes["items"] and {i["item_id"] for i in costumes["items"]} <= adult


def test_cards_show_the_store_s_images_and_a_tile_otherwise() -> None:
    from shopsense.api.routers.pages import templates

    page = templates.env.from_string('{% from "_cards.html" import cards with context %}{{ cards(items, "v1", "x") }}')
    items = [{"item_id": "a", "title": "Abacus", "price": 4.5, "currency": "EUR",
              "image_url": "https://cdn.example/a.jpg", "category": "Toys"},
             {"item_id": "b", "title": "Ball", "price": None, "image_url": "", "category": ""},
             {"item_id": "c", "title": "Car", "price": 2.0, "image_url": "", "category": ""}]
    html = page.render(items=items, store=StoreIdentity(locale="de_DE"))
    assert html.count("<img") == 1 and 'src="https://cdn.example/a.jpg"' in html
    # the catalog rows carry only URLs a page may show: a script URL never reaches a template
    assert displayable_url("javascript:alert(1)") == "" and displayable_url("//evil.example/x.png") == ""
    assert displayable_url(" /static/logo.svg ") == "/static/logo.svg"
    assert html.count('class="thumb" aria-hidden="true">') == 2  # letter tiles for the other two
    assert "4,50\xa0€" in html
