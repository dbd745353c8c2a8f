"""The feedback loop: events -> retrain (fold-in) -> hot reload without restart; A/B split and report;
erasing a user everywhere."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from shopsense.api.app import create_app
from shopsense.assistant.sessions import SessionStore
from shopsense.assistant.state import DialogueState
from shopsense.core.settings import Settings
from shopsense.core.store import Store
from shopsense.registry import Registry
from shopsense.serving.ab import ab_bucket, report_ab
from shopsense.serving.config import ServingConfig
from shopsense.serving.training import RECOMMENDER, retrain
from workspace_fixture import API_KEY, copy_workspace

# These tests play the store's backend, which posts events and asks for recommendations for any shopper
# with the admin key (a browser's claims are tested in tests/api/test_security.py).
BACKEND = {"X-API-Key": API_KEY}


def _wait_for(client: TestClient, user: str, version: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get("/v1/recommendations", params={"user_id": user, "k": 5}).json()
        if body["model_version"] == version or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def test_retrain_folds_in_a_new_user_and_the_server_hot_reloads(private_workspace: Settings) -> None:
    config = ServingConfig(reload_interval_s=0.1)
    with TestClient(create_app(private_workspace, config), headers=BACKEND) as client:
        trending = client.get("/v1/trending", params={"k": 3}).json()
        before = trending["model_version"]
        user = f"u-new-{uuid.uuid4().hex[:6]}"
        assert client.get("/v1/recommendations", params={"user_id": user}).json()["source"] == "trending"
        events = [{"user_id": user, "type": t, "item_id": it["item_id"]}
                  for it in trending["items"] for t in ("view", "click", "purchase")]
        assert client.post("/v1/events", json={"events": events}).status_code == 201
        result = retrain(private_workspace, promote=True)
        assert result.mode == "fold-in" and result.recommender.version != before
        assert result.recommender.card["new_users"] >= 1 and result.recommender.card["events_folded"] == 9
        body = _wait_for(client, user, result.recommender.version)
        assert body["model_version"] == result.recommender.version
        assert body["source"] == "personal"
        bought = {it["item_id"] for it in trending["items"]}
        assert not bought & {i["item_id"] for i in body["items"]}  # what they bought is not offered again


def test_the_admin_retrain_job_trains_in_its_own_process_and_the_server_serves_the_result(
        private_workspace: Settings) -> None:
    with TestClient(create_app(private_workspace, ServingConfig(reload_interval_s=0.1)), headers=BACKEND) as client:
        before = client.get("/v1/trending", params={"k": 3}).json()
        user = f"u-job-{uuid.uuid4().hex[:6]}"
        events = [{"user_id": user, "type": "purchase", "item_id": it["item_id"]} for it in before["items"]]
        assert client.post("/v1/events", json={"events": events}).status_code == 201
        job = client.post("/v1/admin/retrain", json={"promote": True})
        assert job.status_code == 202
        deadline = time.monotonic() + 300
        while (status := client.get(f"/v1/admin/jobs/{job.json()['id']}").json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, status
            time.sleep(0.5)
        assert status["status"] == "done", status
        promoted = Registry(private_workspace.artifacts_dir).production_version(RECOMMENDER)
        assert promoted != before["model_version"] and promoted in status["result"]["promoted"] + [
            status["result"]["published"].get(RECOMMENDER)]
        # the job's own process is gone; this one serves the promoted version at once, knowing the new shopper
        body = client.get("/v1/recommendations", params={"user_id": user, "k": 5}).json()
        assert body["model_version"] == promoted and body["source"] == "personal"


def test_rollback_is_served_without_restart(private_workspace: Settings, admin_headers: dict[str, str]) -> None:
    first = Registry(private_workspace.artifacts_dir).production_version(RECOMMENDER)
    retrain(private_workspace, promote=True)
    with TestClient(create_app(private_workspace, ServingConfig(reload_interval_s=0.1))) as client:
        assert client.get("/readyz").json()["recommender"] != first
        r = client.post("/v1/admin/models/recommender/rollback", headers=admin_headers)
        assert r.status_code == 200 and r.json()["production"] == first
        assert client.get("/v1/trending").json()["model_version"] == first


def test_ab_bucket_is_deterministic_and_proportional() -> None:
    users = [f"user-{i}" for i in range(20_000)]
    arms = [ab_bucket(u, 0.3) for u in users]
    assert arms == [ab_bucket(u, 0.3) for u in users]
    share = arms.count("candidate") / len(users)
    assert 0.28 < share < 0.32
    assert {ab_bucket(u, 0.0) for u in users[:100]} == {"production"}
    assert ab_bucket(None, 0.9) == "production"


def test_ab_serving_and_report(private_workspace: Settings) -> None:
    candidate = retrain(private_workspace, promote=False).recommender.version
    production = Registry(private_workspace.artifacts_dir).production_version(RECOMMENDER)
    assert candidate != production
    with TestClient(create_app(private_workspace, ServingConfig(ab_share=0.5)), headers=BACKEND) as client:
        served = {}
        for n in range(40):
            user = f"ab-user-{n}"
            body = client.get("/v1/recommendations", params={"user_id": user, "k": 3}).json()
            served[user] = body
            expected = candidate if ab_bucket(user, 0.5) == "candidate" else production
            assert body["model_version"] == expected
        assert {b["variant"] for b in served.values()} == {"production", "candidate"}
        events = []
        for user, body in served.items():
            first = body["items"][0]["item_id"]
            events.append({"user_id": user, "type": "view", "item_id": first, "model_version": body["model_version"]})
            if body["variant"] == "candidate":  # the candidate's users click and buy, production's only look
                events += [{"user_id": user, "type": t, "item_id": first, "model_version": body["model_version"]}
                           for t in ("click", "purchase")]
        assert client.post("/v1/events", json={"events": events}).status_code == 201
    with Store.from_settings(private_workspace) as store:
        events = store.events_since(None)  # the copied workspace may hold other tests' events: only ours
        report = report_ab(events[events["user_id"].str.startswith("ab-user-")]).set_index("model_version")
    assert report.loc[candidate, "ctr"] == 1.0 and report.loc[candidate, "conversion"] == 1.0
    assert report.loc[production, "ctr"] == 0.0 and pd.isna(report.loc[production, "conversion"])


def test_delete_user_erases_the_store_rows(workspace: Settings, tmp_path: Path,
                                           admin_headers: dict[str, str]) -> None:
    private_workspace = copy_workspace(workspace, tmp_path / "home", private_cache=True).model_copy(
        update={"api_key": API_KEY})
    with Store.from_settings(private_workspace) as store:
        user = str(store.load().reviews["user_id"].iloc[0])
        sessions = SessionStore(store.engine)  # a conversation with the assistant, and a hand-over ticket
        conversation = DialogueState("erase-me", user_id=user)
        conversation.remember("user", "I want to speak to a person")
        sessions.save(conversation)
        sessions.open_ticket(conversation, "asked_for_human", "asked for a person")
    with TestClient(create_app(private_workspace), headers=BACKEND) as client:
        client.post("/v1/events", json={"user_id": user, "type": "view", "item_id": "toy_x"})
        r = client.delete(f"/v1/admin/users/{user}", headers=admin_headers)
        assert r.status_code == 200
        removed = r.json()["removed"]
        assert removed["reviews"] >= 1 and removed["events"] == 1
        assert removed["assistant_sessions"] == 1 and removed["assistant_tickets"] == 1
        job = r.json()["retrain_job"]
        deadline = time.monotonic() + 300
        while job.get("status") in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
            job = client.get(f"/v1/admin/jobs/{job['id']}", headers=admin_headers).json()
        assert job["status"] == "done", job
        assert client.get("/v1/recommendations", params={"user_id": user}).json()["source"] == "trending"
    with Store.from_settings(private_workspace) as store:
        data = store.load()
        assert not (data.reviews["user_id"] == user).any()
        assert not (store.events_since(None)["user_id"] == user).any()
