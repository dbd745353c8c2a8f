"""Recommendations, similar items, search, health and metrics against the real app and real models."""

from __future__ import annotations

from fastapi.testclient import TestClient

from shopsense.core.settings import Settings
from shopsense.core.store import Store

ITEM_KEYS = {"item_id", "title", "price", "score", "explanation"}


def _known_user(workspace: Settings) -> str:
    with Store.from_settings(workspace) as store:
        reviews = store.load().reviews
    return str(reviews["user_id"].value_counts().index[0])


def test_health_ready_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["recommender"].startswith("v")
    client.get("/v1/recommendations", params={"k": 3})
    text = client.get("/metrics").text
    assert 'shopsense_model_version_info{model="recommender"' in text
    assert 'route="/v1/recommendations"' in text and "shopsense_request_seconds_bucket" in text


def test_recommendations_for_a_known_user_are_personal_and_explained(client: TestClient, workspace: Settings) -> None:
    user = _known_user(workspace)
    body = client.get("/v1/recommendations", params={"user_id": user, "k": 5}).json()
    assert body["source"] == "personal" and body["model_version"].startswith("v")
    assert len(body["items"]) == 5
    assert all(ITEM_KEYS <= set(it) and it["explanation"] and it["title"] for it in body["items"])
    scores = [it["score"] for it in body["items"]]
    assert scores == sorted(scores, reverse=True)
    other = client.get("/v1/recommendations", params={"user_id": "u_nobody_at_all", "k": 5}).json()
    assert [i["item_id"] for i in other["items"]] != [i["item_id"] for i in body["items"]]


def test_unknown_user_gets_a_cold_start_answer(client: TestClient) -> None:
    body = client.get("/v1/recommendations", params={"user_id": "brand-new-shopper", "k": 4}).json()
    assert body["source"] == "trending" and len(body["items"]) == 4
    assert all(it["explanation"] for it in body["items"])
    anon = client.get("/v1/recommendations").json()
    assert len(anon["items"]) == 10


def test_recent_items_steer_a_new_visitor(client: TestClient) -> None:
    trending = client.get("/v1/trending", params={"k": 3}).json()["items"]
    seed = trending[0]["item_id"]
    body = client.get("/v1/recommendations", params={"user_id": "visitor-x", "recent": seed, "k": 5}).json()
    assert body["source"] == "recent"
    assert seed not in [i["item_id"] for i in body["items"]]


def test_filters_restrict_category_and_price(client: TestClient) -> None:
    body = client.get("/v1/recommendations", params={"k": 8, "category": "Hobbies", "max_price": 20}).json()
    assert body["items"]
    for it in body["items"]:
        assert it["category"].startswith("Hobbies") and it["price"] is not None and it["price"] <= 20


def test_bad_query_parameters_name_the_field(client: TestClient) -> None:
    for params, field in (({"k": 0}, "k"), ({"k": "many"}, "k"), ({"min_price": -1}, "min_price"),
                          ({"min_price": 50, "max_price": 10}, "min_price"), ({"max_price": "inf"}, "max_price")):
        r = client.get("/v1/recommendations", params=params)
        assert r.status_code == 422, params
        assert r.json()["errors"][0]["field"] == field, r.json()


def test_similar_items(client: TestClient) -> None:
    seed = client.get("/v1/trending", params={"k": 1}).json()["items"][0]["item_id"]
    body = client.get(f"/v1/items/{seed}/similar", params={"k": 5}).json()
    ids = [i["item_id"] for i in body["items"]]
    assert len(ids) == 5 and seed not in ids and body["source"] == "similar"
    assert all(i["explanation"] for i in body["items"])
    missing = client.get("/v1/items/no-such-item/similar")
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "item_id"
    detail = client.get(f"/v1/items/{seed}").json()
    assert detail["item_id"] == seed and "count" in detail["reviews"]


def test_search_english_chinese_and_filters(client: TestClient) -> None:
    body = client.get("/v1/search", params={"q": "wooden train", "k": 5}).json()
    assert body["items"] and body["source"] == "search"
    assert any("train" in (i["title"] or "").lower() for i in body["items"])
    assert set(body["items"][0]) >= ITEM_KEYS
    zh = client.get("/v1/search", params={"q": "木制火车", "k": 5})
    assert zh.status_code == 200 and isinstance(zh.json()["items"], list)
    cat = client.get("/v1/search", params={"q": "train", "category": "Hobbies", "k": 5}).json()
    assert all(i["category"].startswith("Hobbies") for i in cat["items"])
    for params, field in (({}, "q"), ({"q": "   "}, "q"), ({"q": "x", "k": 1000}, "k")):
        r = client.get("/v1/search", params=params)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field


def test_unknown_route_and_method_are_json_4xx(client: TestClient) -> None:
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404 and "detail" in r.json()
    assert client.delete("/v1/recommendations").status_code == 405
