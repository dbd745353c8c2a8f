"""The spine's rules on their own: the store generation, the promotion rule, the job queue, the registry's
retire, and the workspace's caches keyed on the generation."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from shopsense.core.settings import get_settings
from shopsense.core.store import Store, import_directory
from shopsense.registry import NotFoundError, Registry
from shopsense.serving.jobs import JOB_NICENESS, Jobs, run_apart
from shopsense.serving.pipeline import decide
from shopsense.serving.workspace import Workspace

STORE = Path(__file__).resolve().parents[1] / "data" / "good_store"


def test_import_and_erasure_move_the_generation_on_and_unchanged_import_does_not(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        assert store.generation() == 0
        import_directory(STORE, store)
        assert store.generation() == 1
        import_directory(STORE, store)  # same content: nothing changes
        assert store.generation() == 1
        removed = store.delete_user("u01")
        assert removed["interactions"] > 0
        assert store.generation() == 2


def test_workspace_caches_follow_the_generation(tmp_path: Path) -> None:
    with Workspace(get_settings(tmp_path / "home")) as workspace:
        import_directory(STORE, workspace.store)
        workspace.store_changed()
        before = workspace.data()
        assert "u01" in set(before.interactions["user_id"])
        assert workspace.data() is before  # cached while the store is unchanged
        workspace.store.delete_user("u01")
        workspace.store_changed()
        after = workspace.data()
        assert after is not before and "u01" not in set(after.interactions["user_id"])


def _publish(registry: Registry, model: str, card: dict) -> str:
    return registry.publish(model, lambda _d: card).version


def test_promotion_rule(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    first = registry.get("recommender", _publish(registry, "recommender", {
        "algorithm": "itemknn", "metrics": {"itemknn": {"ndcg@10": 0.20}}}))
    assert decide(registry, "recommender", first, None) == (True, "first version")
    registry.promote("recommender", first.version)
    worse = registry.get("recommender", _publish(registry, "recommender", {
        "algorithm": "itemknn", "metrics": {"itemknn": {"ndcg@10": 0.10}}}))
    promote, why = decide(registry, "recommender", worse, None)
    assert not promote and "worse" in why
    assert decide(registry, "recommender", worse, True)[0] is True
    close = registry.get("recommender", _publish(registry, "recommender", {
        "algorithm": "itemknn", "metrics": {"itemknn": {"ndcg@10": 0.198}}}))
    assert decide(registry, "recommender", close, None)[0] is True
    assert decide(registry, "recommender", close, False)[0] is False


def test_retired_versions_cannot_be_rolled_back_to(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    v1 = _publish(registry, "recommender", {})
    registry.promote("recommender", v1)
    v2 = _publish(registry, "recommender", {})
    registry.promote("recommender", v2)
    registry.retire("recommender", v1, reason="erasure")
    assert registry.version_names("recommender") == [v2]
    with pytest.raises(Exception, match="no earlier production version"):
        registry.rollback("recommender")
    registry.retire("recommender", v2, reason="erasure")
    assert registry.production_version("recommender") is None
    with pytest.raises(NotFoundError):
        registry.get("recommender", v2)


def test_jobs_of_two_server_processes_share_records_and_take_turns(tmp_path: Path) -> None:
    # two Jobs over one directory: what two `serve --workers 2` processes of a workspace hold
    first_worker, second_worker = Jobs(tmp_path / "jobs"), Jobs(tmp_path / "jobs")
    gate = threading.Event()
    order: list[str] = []
    slow = first_worker.start("retrain", lambda: gate.wait(10) and order.append("first") or {"versions": ["v0002"]})
    deadline = time.monotonic() + 10
    while first_worker.get(slow["id"])["status"] != "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    other = second_worker.start("erase-retrain", lambda: order.append("second") or {"ok": True})
    assert second_worker.get(slow["id"])["status"] == "running"  # read from the record the other one wrote
    time.sleep(0.3)
    assert second_worker.get(other["id"])["status"] == "queued"  # waits for the other process's job
    gate.set()
    first_worker.wait(30)
    second_worker.wait(30)
    assert order == ["first", "second"]
    assert second_worker.get(slow["id"])["result"] == {"versions": ["v0002"]}
    assert first_worker.get(other["id"])["status"] == "done"
    assert first_worker.get("../../etc/passwd") is None and first_worker.get("nope") is None


def test_jobs_wait_their_turn_and_none_is_skipped() -> None:
    jobs = Jobs()
    gate = threading.Event()
    order: list[str] = []

    def slow() -> dict:
        gate.wait(10)
        order.append("first")
        return {"ok": 1}

    first = jobs.start("retrain", slow)
    second = jobs.start("erase-retrain", lambda: order.append("second") or {"ok": 2})
    assert jobs.get(second["id"])["status"] == "queued"
    gate.set()
    jobs.wait(30)
    assert order == ["first", "second"]
    assert jobs.get(first["id"])["status"] == jobs.get(second["id"])["status"] == "done"
    failing = jobs.start("retrain", lambda: 1 / 0)
    deadline = time.monotonic() + 10
    while jobs.get(failing["id"])["status"] != "failed" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "division by zero" in jobs.get(failing["id"])["error"]


def test_work_run_apart_runs_in_another_process_at_the_job_priority_and_reports_its_failure() -> None:
    assert run_apart(os.getpid) != os.getpid()
    assert run_apart(os.nice, 0) >= min(os.nice(0) + JOB_NICENESS, 19)
    with pytest.raises(ValueError, match="invalid literal"):
        run_apart(int, "not a number")
