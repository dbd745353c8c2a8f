"""``GET /v1/insights/items/{id}``, ``/v1/insights/alerts``, ``/v1/audit/items/{id}``, ``/v1/audit/ranking``
and the opinion dashboard's chart, on the prepared demo workspace."""

from __future__ import annotations

from workspace_fixture import API_KEY


def test_item_insights(marketing_client, opinions) -> None:
    item = opinions.mentions["item_id"].value_counts().index[0]
    r = marketing_client.get(f"/v1/insights/items/{item}", params={"top": 3})
    assert r.status_code == 200
    body = r.json()
    assert body["item_id"] == item and body["title"]
    assert body["reviews"] == opinions.select(item_id=item)["review_id"].nunique()
    assert sum(body["polarity"].values()) == body["mentions"] == len(opinions.select(item_id=item))
    assert 0 < len(body["praised"]) <= 3 and all(p["quotes"] for p in body["praised"])
    assert sum(a["mentions"] for a in body["aspects"]) <= body["mentions"]
    assert body["trend"] and {"period", "aspect", "mentions", "negative_share"} <= set(body["trend"][0])


def test_item_insights_errors(marketing_client) -> None:
    r = marketing_client.get("/v1/insights/items/no-such-item")
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "item_id"
    r = marketing_client.get("/v1/insights/items/x", params={"top": 0})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "top"


def test_alerts_endpoint(marketing_client) -> None:
    r = marketing_client.get("/v1/insights/alerts")
    assert r.status_code == 200
    body = r.json()
    assert body["alerts"] == [] and "Fisher" in body["test"] and "Benjamini-Hochberg" in body["test"]
    assert marketing_client.get("/v1/insights/alerts", params={"freq": "Q", "by": "brand"}).status_code == 200
    bad = marketing_client.get("/v1/insights/alerts", params={"since": "last tuesday"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "since"
    bad = marketing_client.get("/v1/insights/alerts", params={"freq": "D"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "freq"


def test_audit_endpoints(marketing_client, opinions) -> None:
    item = opinions.mentions["item_id"].value_counts().index[0]
    r = marketing_client.get(f"/v1/audit/items/{item}")
    assert r.status_code == 200
    body = r.json()
    assert body["item_id"] == item and body["suggested_rewrite"] and "flesch" in body["readability"]
    assert {"uncovered_aspects", "missing_attributes", "issues", "score"} <= set(body)
    assert marketing_client.get("/v1/audit/items/nope").status_code == 404
    ranked = marketing_client.get("/v1/audit/ranking", params={"top": 5}).json()["items"]
    assert len(ranked) == 5 and ranked[0]["score"] >= ranked[-1]["score"]


def test_dashboard_page_and_chart(marketing_client, opinions) -> None:
    assert marketing_client.get("/admin/opinions/trend.png", follow_redirects=False).status_code == 303
    admin = {"X-API-Key": API_KEY}
    page = marketing_client.get("/admin/opinions", headers=admin)
    assert page.status_code == 200 and "Opinion dashboard" in page.text
    top_aspect = opinions.aspect_table()["aspect"].iloc[0]
    assert f"<td>{top_aspect}</td>" in page.text
    png = marketing_client.get("/admin/opinions/trend.png", params={"brand": opinions.mentions["brand"].mode()[0]},
                               headers=admin)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
