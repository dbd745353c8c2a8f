"""One erasure: after ``shopsense users erase ID`` a binary grep of the whole workspace finds neither the id nor
their review text, no endpoint or page quotes them, and no rollback can bring them back."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopsense.api.app import create_app  # noqa: E402
from shopsense.core.settings import Settings  # noqa: E402
from shopsense.core.store import Store  # noqa: E402
from shopsense.serving.workspace import Workspace  # noqa: E402
from workspace_fixture import API_KEY, as_shopper, copy_workspace, keyed_workspace  # noqa: E402


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return keyed_workspace(tmp_path_factory, "erasure-source")


def private_copy(source: Settings, home: Path) -> Settings:
    """A copy whose cache is a real folder (the shared test cache is a symlink other tests keep using)."""
    return copy_workspace(source, home, private_cache=True).model_copy(update={"api_key": API_KEY})


def grep(root: Path, needle: bytes) -> list[str]:
    found = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if needle in path.read_bytes():
                found.append(str(path.relative_to(root)))
    return found


def pick_reviewer(settings: Settings) -> tuple[str, str, str]:
    """(user id, item id, a sentence of their review that the opinion index quotes)."""
    with Workspace(settings) as workspace:
        mentions = workspace.opinions.load().mentions
        reviews = workspace.data().reviews
    quoted = set(mentions["sentence"].astype(str)) if "sentence" in mentions else set()
    for row in reviews.sort_values("review_id").itertuples(index=False):
        for sentence in quoted:
            if len(sentence) >= 40 and sentence in str(row.text):
                return str(row.user_id), str(row.item_id), sentence
    raise AssertionError("no reviewer with a quoted sentence in the demo store")


def test_cli_erasure_leaves_no_trace_and_no_rollback_serves_them(prepared: Settings, tmp_path: Path) -> None:
    settings = private_copy(prepared, tmp_path / "home")
    user_id, item_id, sentence = pick_reviewer(settings)
    assert grep(settings.home, user_id.encode()), "the user must be in the workspace before the erasure"
    assert grep(settings.home, sentence.encode()), "their review must be in the workspace before the erasure"
    result = subprocess.run([sys.executable, "-c", "from shopsense.cli import main; main()", "--home",
                             str(settings.home), "users", "erase", user_id], capture_output=True, text=True,
                            timeout=1800)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "retired model versions that held them: recommender v0001" in result.stdout
    assert grep(settings.home, user_id.encode()) == []
    assert grep(settings.home, sentence.encode()) == []

    with TestClient(create_app(settings)) as client:
        client.app.state.workspace.opinions.load()  # the rebuilt index, without them
        insights = client.get(f"/v1/insights/items/{item_id}", params={"quotes": 5})
        assert insights.status_code in (200, 404)
        assert sentence not in insights.text
        page = client.get("/admin/opinions", params={"item": item_id}, headers={"X-API-Key": API_KEY})
        assert page.status_code == 200 and sentence not in page.text
        copy = client.post("/v1/copy", json={"item_id": item_id, "channel": "description", "n": 3})
        assert copy.status_code == 200 and sentence[:30] not in copy.text
        recs = client.get("/v1/recommendations", params={"k": 5}, headers=as_shopper(settings, user_id)).json()
        assert recs["items"] and recs["source"] != "personal"
        assert not any("Because you" in (r["explanation"] or "") for r in recs["items"])
        rollback = client.post("/v1/admin/models/recommender/rollback", headers={"X-API-Key": API_KEY})
        assert rollback.status_code == 409  # v0001 (which knew them) is gone: nothing to roll back to
    with Store.from_settings(settings) as store:
        assert store.generation() >= 2


def test_api_erases_an_id_with_a_slash_and_queues_the_retrain(prepared: Settings, tmp_path: Path) -> None:
    settings = private_copy(prepared, tmp_path / "home")
    admin = {"X-API-Key": API_KEY}
    with TestClient(create_app(settings)) as client:
        event = {"user_id": "shop/guest-42", "type": "view", "item_id": client.get(
            "/v1/search", params={"q": "puzzle"}).json()["items"][0]["item_id"]}
        assert client.post("/v1/events", json={"events": [event]}, headers=admin).status_code == 201
        erased = client.delete("/v1/admin/users", params={"user_id": "shop/guest-42"}, headers=admin)
        assert erased.status_code == 200, erased.text
        body = erased.json()
        assert body["removed"]["events"] == 1
        job_id = body["retrain_job"]["id"]
        deadline = time.monotonic() + 900
        while (job := client.get(f"/v1/admin/jobs/{job_id}", headers=admin).json())["status"] in ("queued",
                                                                                                  "running"):
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert job["status"] == "done", job
    assert grep(settings.home, b"shop/guest-42") == []


def test_an_erased_shopper_gets_no_personal_list_even_before_the_retrain_is_in(prepared: Settings,
                                                                               tmp_path: Path) -> None:
    settings = private_copy(prepared, tmp_path / "home")
    admin = {"X-API-Key": API_KEY}
    user_id, _, _ = pick_reviewer(settings)
    with TestClient(create_app(settings)) as client:
        shopper = as_shopper(settings, user_id)
        before = client.get("/v1/recommendations", params={"k": 5}, headers=shopper).json()
        assert before["source"] == "personal"
        erased = client.delete(f"/v1/admin/users/{user_id}", headers=admin).json()
        assert erased["removed"]["reviews"] >= 1 and erased["retrain_job"]["status"] in ("queued", "running")
        after = client.get("/v1/recommendations", params={"k": 5}, headers=shopper).json()
        assert after["source"] != "personal" and after["items"]
        client.app.state.workspace.jobs.wait(900)
        job = client.get(f"/v1/admin/jobs/{erased['retrain_job']['id']}", headers=admin).json()
        assert job["status"] == "done" and "recommender v0001" in job["result"]["retired"]
