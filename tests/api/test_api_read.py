"""Recommendations, similar items, search, health and metrics against the real app and real models."""

from __future__ import annotations

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from shopsense.core.settings import Settings
from shopsense.core.store import Store
from workspace_fixture import as_shopper

ITEM_KEYS = {"item_id", "title", "price", "score", "explanation"}


def _known_user(workspace: Settings) -> str:
    with Store.from_settings(workspace) as store:
        reviews = store.load().reviews
    return str(reviews["user_id"].value_counts().index[0])


@pytest.fixture(scope="module")
def catalog(workspace: Settings) -> dict[str, dict]:
    """The store's items by id: what every item an endpoint returns must be."""
    with Store.from_settings(workspace) as store:
        items = store.load().items
    assert len(items)
    return {str(r["item_id"]): r for r in items.to_dict("records")}


def assert_catalog_items(items: list[dict], catalog: dict[str, dict], n: int | None = None) -> None:
    """A non-empty (or exactly ``n`` long) list of distinct real items, with their catalog title and price,
    each explained."""
    assert items, "an empty list proves nothing"
    if n is not None:
        assert len(items) == n
    ids = [it["item_id"] for it in items]
    assert len(set(ids)) == len(ids), ids
    for it in items:
        row = catalog.get(it["item_id"])
        assert row is not None, f"{it['item_id']} is not in the catalog"
        assert it["title"] == row["title"]
        if pd.isna(row["price"]):
            assert it["price"] is None
        else:
            assert it["price"] == pytest.approx(float(row["price"]))
        assert isinstance(it["explanation"], str) and it["explanation"].strip(), it


def test_health_ready_and_metrics(client: TestClient, catalog: dict[str, dict],
                                  admin_headers: dict[str, str]) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["recommender"].startswith("v")
    assert_catalog_items(client.get("/v1/recommendations", params={"k": 3}).json()["items"], catalog, 3)
    assert client.get("/metrics").status_code == 401  # admin only
    text = client.get("/metrics", headers={"Authorization": f"Bearer {admin_headers['X-API-Key']}"}).text
    assert 'shopsense_model_version_info{model="recommender"' in text
    assert 'route="/v1/recommendations"' in text and "shopsense_request_seconds_bucket" in text


def test_recommendations_for_a_known_user_are_personal_and_explained(client: TestClient, workspace: Settings,
                                                                     catalog: dict[str, dict]) -> None:
    user = _known_user(workspace)
    body = client.get("/v1/recommendations", params={"k": 5}, headers=as_shopper(workspace, user)).json()
    assert body["source"] == "personal" and body["model_version"].startswith("v")
    assert_catalog_items(body["items"], catalog, 5)
    assert all(ITEM_KEYS <= set(it) and it["title"] for it in body["items"])
    scores = [it["score"] for it in body["items"]]
    assert scores == sorted(scores, reverse=True)
    with Store.from_settings(workspace) as store:
        reviewed = set(store.load().reviews.query("user_id == @user")["item_id"].astype(str))
    assert reviewed and not reviewed & {it["item_id"] for it in body["items"]}  # nothing already bought
    other = client.get("/v1/recommendations", params={"k": 5}, headers=as_shopper(workspace, "u_nobody_at_all")).json()
    assert_catalog_items(other["items"], catalog, 5)
    assert [i["item_id"] for i in other["items"]] != [i["item_id"] for i in body["items"]]


def test_unknown_user_gets_a_cold_start_answer(client: TestClient, catalog: dict[str, dict]) -> None:
    body = client.get("/v1/recommendations", params={"user_id": "brand-new-shopper", "k": 4}).json()
    assert body["source"] == "trending"
    assert_catalog_items(body["items"], catalog, 4)
    anon = client.get("/v1/recommendations").json()
    assert_catalog_items(anon["items"], catalog, 10)
    # A stranger's cold start is the trending list.
    trending = client.get("/v1/trending", params={"k": 4}).json()["items"]
    assert [i["item_id"] for i in body["items"]] == [i["item_id"] for i in trending]


def test_recent_items_steer_a_new_visitor(client: TestClient, catalog: dict[str, dict]) -> None:
    trending = client.get("/v1/trending", params={"k": 3}).json()["items"]
    assert_catalog_items(trending, catalog, 3)
    seed = trending[0]["item_id"]
    body = client.get("/v1/recommendations", params={"user_id": "visitor-x", "recent": seed, "k": 5}).json()
    assert body["source"] == "recent"
    assert_catalog_items(body["items"], catalog, 5)
    assert seed not in [i["item_id"] for i in body["items"]]
    # The recent item steers: the list is not the trending one.
    cold = client.get("/v1/recommendations", params={"user_id": "visitor-x", "k": 5}).json()["items"]
    assert [i["item_id"] for i in body["items"]] != [i["item_id"] for i in cold]


def test_filters_restrict_category_and_price(client: TestClient, catalog: dict[str, dict]) -> None:
    body = client.get("/v1/recommendations", params={"k": 8, "category": "Hobbies", "max_price": 20}).json()
    assert_catalog_items(body["items"], catalog, 8)
    for it in body["items"]:
        assert it["category"] == catalog[it["item_id"]]["category"]
        assert it["category"].startswith("Hobbies") and it["price"] is not None and it["price"] <= 20


def test_search_and_recommendations_read_a_filter_the_same_way(client: TestClient, workspace: Settings) -> None:
    with Store.from_settings(workspace) as store:
        items = store.load().items
    prices = items["price"].astype(float)
    paths = items["category"].fillna("").str.lower()
    # The query, and the plain prefix of the demo's "A > B" paths it stands for.
    for category, prefix, max_price in (("Hobb", "hobb", None), ("hobbies >", "hobbies", 15.0),
                                        ("Characters & Brands>Star Wars", "characters & brands > star wars", None)):
        priced = prices <= max_price if max_price is not None else True
        want = set(items.loc[paths.str.startswith(prefix) & priced, "item_id"].astype(str))
        assert 0 < len(want) <= 100, category
        params = {"k": 100, "category": category, **({"max_price": max_price} if max_price is not None else {})}
        # Trending ranks every item the filter lets through; a filtered search ranks every one by meaning.
        recommended = {i["item_id"] for i in client.get("/v1/recommendations", params=params).json()["items"]}
        found = {i["item_id"] for i in client.get("/v1/search", params={"q": "toy", **params}).json()["items"]}
        assert recommended == found == want, category
        if max_price is None:  # trending takes a category only
            trending = {i["item_id"] for i in client.get("/v1/trending", params=params).json()["items"]}
            assert trending == want, category


def test_bad_query_parameters_name_the_field(client: TestClient) -> None:
    for params, field in (({"k": 0}, "k"), ({"k": "many"}, "k"), ({"min_price": -1}, "min_price"),
                          ({"min_price": 50, "max_price": 10}, "min_price"), ({"max_price": "inf"}, "max_price")):
        r = client.get("/v1/recommendations", params=params)
        assert r.status_code == 422, params
        assert r.json()["errors"][0]["field"] == field, r.json()


def test_similar_items(client: TestClient, catalog: dict[str, dict]) -> None:
    seed = client.get("/v1/trending", params={"k": 1}).json()["items"][0]["item_id"]
    body = client.get(f"/v1/items/{seed}/similar", params={"k": 5}).json()
    ids = [i["item_id"] for i in body["items"]]
    assert len(ids) == 5 and seed not in ids and body["source"] == "similar"
    assert_catalog_items(body["items"], catalog, 5)
    missing = client.get("/v1/items/no-such-item/similar")
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "item_id"
    detail = client.get(f"/v1/items/{seed}").json()
    assert detail["item_id"] == seed and "count" in detail["reviews"]


def test_search_english_chinese_and_filters(client: TestClient, catalog: dict[str, dict]) -> None:
    body = client.get("/v1/search", params={"q": "wooden train", "k": 5}).json()
    assert body["items"] and body["source"] == "search"
    assert all(i["item_id"] in catalog and i["title"] == catalog[i["item_id"]]["title"] for i in body["items"])
    assert any("train" in (i["title"] or "").lower() for i in body["items"])
    assert set(body["items"][0]) >= ITEM_KEYS
    zh = client.get("/v1/search", params={"q": "木制火车", "k": 5})
    assert zh.status_code == 200
    zh_items = zh.json()["items"]
    assert zh_items and all(i["item_id"] in catalog for i in zh_items)
    assert any("train" in (i["title"] or "").lower() for i in zh_items), zh_items
    cat = client.get("/v1/search", params={"q": "train", "category": "Hobbies", "k": 5}).json()
    assert cat["items"]
    assert all(i["item_id"] in catalog and i["category"].startswith("Hobbies") for i in cat["items"])
    assert any("train" in (i["title"] or "").lower() for i in cat["items"])
    for params, field in (({}, "q"), ({"q": "   "}, "q"), ({"q": "x", "k": 1000}, "k")):
        r = client.get("/v1/search", params=params)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field


def test_unknown_route_and_method_are_json_4xx(client: TestClient) -> None:
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404 and "detail" in r.json()
    assert client.delete("/v1/recommendations").status_code == 405


def test_a_server_keeps_its_loaded_models_out_of_the_collector_s_walks(client: TestClient) -> None:
    import gc

    state = client.app.state.workspace.models.state
    assert state is not None and gc.get_freeze_count() > 10_000
    # frozen: a full collection (which stalled a request for ~100 ms under load) no longer walks the models
    assert not any(o is state.production for o in gc.get_objects())
    assert client.get("/v1/recommendations").status_code == 200
