"""Events (validation, idempotency, masking, body limit), NLP endpoints and the admin key."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from shopsense.core.settings import Settings
from shopsense.core.store import Store
from workspace_fixture import as_shopper


def _events(workspace: Settings):
    with Store.from_settings(workspace) as store:
        return store.events_since(None)


def test_single_event_is_stored_once_by_id(client: TestClient, workspace: Settings,
                                           admin_headers: dict[str, str]) -> None:
    eid = uuid.uuid4().hex
    event = {"event_id": eid, "user_id": "u-events", "type": "click", "item_id": "toy_x", "model_version": "v0001"}
    first = client.post("/v1/events", json=event, headers=admin_headers)  # the store's backend: any user
    assert first.status_code == 201
    assert first.json() == {"stored": 1, "duplicates": 0, "event_ids": [eid], "identity": "admin"}
    again = client.post("/v1/events", json=event, headers=admin_headers)
    assert again.status_code == 201 and again.json()["duplicates"] == 1
    stored = _events(workspace)
    assert (stored["event_id"] == eid).sum() == 1
    row = stored[stored["event_id"] == eid].iloc[0]
    assert row["type"] == "click" and row["model_version"] == "v0001" and row["user_id"] == "u-events"


def test_events_belong_to_the_caller_not_to_the_claimed_user(client: TestClient, workspace: Settings) -> None:
    claimed = {"user_id": "u-victim", "type": "purchase", "item_id": "toy_x"}
    anonymous = client.post("/v1/events", json={**claimed, "event_id": uuid.uuid4().hex})
    assert anonymous.status_code == 201 and anonymous.json()["identity"] == "visitor"
    signed_in = as_shopper(workspace, "u-shopper")
    own = client.post("/v1/events", json={"type": "view", "item_id": "toy_x", "event_id": uuid.uuid4().hex},
                      headers=signed_in)
    assert own.status_code == 201 and own.json()["identity"] == "shopper"
    other = client.post("/v1/events", json={**claimed, "event_id": uuid.uuid4().hex}, headers=signed_in)
    assert other.status_code == 403 and other.json()["errors"][0]["field"] == "user_id"
    stored = _events(workspace).set_index("event_id")
    assert stored.loc[anonymous.json()["event_ids"][0], "user_id"].startswith("visitor:")
    assert stored.loc[own.json()["event_ids"][0], "user_id"] == "u-shopper"
    assert other.json() and not (stored["user_id"] == "u-victim").any()


def test_batch_is_all_or_nothing_and_names_the_bad_field(client: TestClient, workspace: Settings) -> None:
    ids = [uuid.uuid4().hex for _ in range(3)]
    good = [{"event_id": i, "user_id": "u-batch", "type": "view", "item_id": "toy_a"} for i in ids]
    bad = good + [{"user_id": "u-batch", "type": "rating", "item_id": "toy_a", "value": 9}]
    r = client.post("/v1/events", json={"events": bad})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "events.3.value"
    assert not set(ids) & set(_events(workspace)["event_id"])
    ok = client.post("/v1/events", json={"events": good})
    assert ok.status_code == 201 and ok.json()["stored"] == 3


def test_event_validation_errors(client: TestClient) -> None:
    cases = [({"user_id": "u", "type": "teleport", "item_id": "a"}, "type"),
             ({"user_id": "", "type": "click", "item_id": "a"}, "user_id"),
             ({"user_id": "jane.doe@example.com", "type": "click", "item_id": "a"}, "user_id"),
             ({"user_id": "u", "session_id": "+44 7911 123456", "type": "click", "item_id": "a"}, "session_id"),
             ({"user_id": "u", "type": "click"}, "item_id"),
             ({"user_id": "u", "type": "rating", "item_id": "a"}, "value"),
             ({"user_id": "u", "type": "view", "item_id": "a", "surprise": 1}, "surprise"),
             ({"user_id": "u", "type": "view", "item_id": "a", "event_id": "x" * 65}, "event_id"),
             ({"user_id": "u", "type": "view", "item_id": "a", "created_at": "yesterday"}, "created_at"),
             ({"user_id": "u", "type": "view", "item_id": "a", "created_at": "8999-01-01T00:00:00Z"}, "created_at"),
             ({"user_id": "u", "type": "view", "item_id": "a", "created_at": "1969-12-31T23:59:59Z"}, "created_at")]
    for body, field in cases:
        r = client.post("/v1/events", json=body)
        assert r.status_code == 422, body
        assert r.json()["errors"][0]["field"] == field, (body, r.json())
    assert client.post("/v1/events", content=b"{not json", headers={"content-type": "application/json"}
                       ).status_code == 422
    assert client.post("/v1/events", json={"events": []}).status_code == 422


def test_personal_data_in_event_payload_is_masked(client: TestClient, workspace: Settings) -> None:
    eid = uuid.uuid4().hex
    text = "the bot helped, mail me at jane.doe@example.com or call +44 7911 123456"
    payload = {"comment": text, "jane.doe@example.com": {"4111 1111 1111 1111": 1}}  # keys are masked too
    r = client.post("/v1/events", json={"event_id": eid, "user_id": "u-chat", "type": "chat_feedback",
                                        "value": 1, "payload": payload})
    assert r.status_code == 201
    stored = _events(workspace)
    saved = stored[stored["event_id"] == eid].iloc[0]["payload"]
    comment = saved["comment"]
    assert "jane.doe@example.com" not in comment and "7911" not in comment and "[EMAIL]" in comment
    assert "jane.doe@example.com" not in str(saved) and "4111" not in str(saved) and len(saved) == 2


def test_oversized_body_is_413(client: TestClient) -> None:
    r = client.post("/v1/events", content=b"x" * 1_100_000, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]


def test_nlp_endpoints(client: TestClient) -> None:
    pos = client.post("/v1/nlp/sentiment", json={"text": "My son loves this train set, brilliant quality!"})
    neg = client.post("/v1/nlp/sentiment", json={"text": "Broke after one day, awful and a waste of money."})
    assert pos.status_code == neg.status_code == 200
    assert pos.json()["label"] == "positive" and neg.json()["label"] == "negative"
    ents = client.post("/v1/nlp/entities", json={"text": "Order 123456 for jane@example.com, under £20 please"})
    found = {e["type"]: e for e in ents.json()["entities"]}
    assert "order_id" in found and "jane@example.com" not in ents.text
    cls = client.post("/v1/nlp/classify", json={"text": "where is my parcel?", "task": "intent"})
    assert cls.status_code in (200, 404)
    if cls.status_code == 404:
        assert cls.json()["errors"][0]["field"] == "task"
    else:
        assert cls.json()["label"]
    bad = client.post("/v1/nlp/classify", json={"text": "x", "task": "horoscope"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "task"
    assert client.post("/v1/nlp/sentiment", json={"text": ""}).json()["errors"][0]["field"] == "text"


def test_admin_endpoints_need_the_key(client: TestClient, admin_headers: dict[str, str]) -> None:
    assert client.get("/v1/admin/models").status_code == 401
    wrong = client.get("/v1/admin/models", headers={"X-API-Key": "nope"})
    assert wrong.status_code == 401 and wrong.json()["errors"][0]["field"] == "X-API-Key"
    assert client.post("/v1/admin/models/recommender/rollback").status_code == 401
    assert client.delete("/v1/admin/users/someone").status_code == 401
    listing = client.get("/v1/admin/models", headers=admin_headers).json()
    assert listing["serving"]["recommender"] == listing["models"]["recommender"]["aliases"]["production"]
    missing = client.post("/v1/admin/models/recommender/promote", json={"version": "v0099"}, headers=admin_headers)
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "version"
    none = client.post("/v1/admin/models/recommender/rollback", headers=admin_headers)
    assert none.status_code == 409
