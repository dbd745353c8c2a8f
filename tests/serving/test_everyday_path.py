"""The README's everyday path, exactly as written, on a store the demo never saw: ``data check`` -> ``import`` ->
``train`` -> ``serve`` answers personal recommendations, search and chat with no manual promote; ``--home``
works before and after the command; read-only commands on an empty home create nothing."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workspace_fixture import free_port, start_server  # noqa: E402

STORE = Path(__file__).resolve().parents[1] / "data" / "good_store"


def shopsense(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from shopsense.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=1200, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("everyday") / "home"
    store = home.parent / "my_store"
    shutil.copytree(STORE, store)
    check = shopsense("data", "check", str(store))
    assert check.returncode == 0, check.stdout + check.stderr
    imported = shopsense("--home", str(home), "import", str(store))  # --home before the command
    assert imported.returncode == 0, imported.stderr
    assert "imported" in imported.stdout
    trained = shopsense("train", "--quick", "--home", str(home))  # ... and after it
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "recommender v0001: promoted (first version)" in trained.stdout
    assert "search v0001: promoted (first version)" in trained.stdout
    assert "intent v0001: promoted" in trained.stdout
    return home


def test_serve_answers_recommendations_search_and_chat_without_a_manual_promote(trained_home: Path) -> None:
    port = free_port()
    proc = start_server(trained_home, port)
    try:
        base = f"http://127.0.0.1:{port}"
        minted = shopsense("--home", str(trained_home), "users", "token", "u01")  # as the store's backend would
        assert minted.returncode == 0, minted.stderr
        signed_in = {"Authorization": f"Bearer {minted.stdout.strip()}"}
        recs = httpx.get(f"{base}/v1/recommendations", params={"k": 3}, headers=signed_in, timeout=30).json()
        assert recs["source"] == "personal"
        ids = [r["item_id"] for r in recs["items"]]
        assert len(ids) == 3 and len(set(ids)) == 3
        assert all(r["explanation"] for r in recs["items"])
        found = httpx.get(f"{base}/v1/search", params={"q": "jigsaw puzzle"}, timeout=30).json()["items"]
        assert found and found[0]["item_id"] == "007"
        chat = httpx.post(f"{base}/v1/chat", json={"message": "do you sell jigsaw puzzles?"}, timeout=60)
        assert chat.status_code == 200, chat.text
        assert any(item["item_id"] == "007" for item in chat.json()["items"])
    finally:
        proc.terminate()
        proc.wait(30)


def test_train_again_on_an_unchanged_store_publishes_nothing_new(trained_home: Path) -> None:
    again = shopsense("--home", str(trained_home), "train", "--quick")
    assert again.returncode == 0, again.stderr
    assert "recommender and search: unchanged since v0001" in again.stderr
    assert "intent: unchanged since v0001" in again.stderr
    assert "nothing new to publish" in again.stdout


def test_home_before_the_command_works_for_read_only_commands(trained_home: Path) -> None:
    listed = shopsense("--home", str(trained_home), "models", "list")
    assert listed.returncode == 0, listed.stderr
    assert "recommender" in listed.stdout and "search" in listed.stdout
    # piped (80 columns): cells wrap, never end in "…"; --json gives every field to a script
    assert "…" not in listed.stdout, listed.stdout
    as_json = shopsense("--home", str(trained_home), "models", "list", "--json")
    assert as_json.returncode == 0, as_json.stderr
    rows = {r["model"]: r for r in json.loads(as_json.stdout)["models"]}
    assert rows["recommender"]["production"] and rows["recommender"]["versions"] >= 1


@pytest.mark.parametrize("command", [["serve"], ["chat", "-m", "hello"], ["models", "list"], ["retrain"]])
def test_read_only_commands_on_an_empty_home_name_the_fix_and_create_nothing(tmp_path: Path,
                                                                             command: list[str]) -> None:
    home = tmp_path / "nothing-here"
    result = shopsense("--home", str(home), *command)
    assert result.returncode != 0
    assert "shopsense import DIR" in result.stderr and "shopsense train" in result.stderr
    assert "Traceback" not in result.stderr
    assert not home.exists()


def test_serve_after_import_only_says_to_train(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert shopsense("import", str(STORE), "--home", str(home)).returncode == 0
    result = shopsense("serve", "--home", str(home))
    assert result.returncode == 1
    assert f"run `shopsense train --home {home}`" in result.stderr.replace("\n", "")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_on_a_port_in_use_says_so_and_how_to_fix_it(trained_home: Path, workers: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = shopsense("serve", "--home", str(trained_home), "--port", str(port), "--workers", workers)
    assert result.returncode == 1
    said = result.stderr.replace("\n", "")
    assert f"cannot listen on 127.0.0.1:{port}" in said and "--port" in said and "Traceback" not in said
