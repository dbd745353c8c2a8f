"""A workspace whose opinion index was never built: an anonymous request never starts the build (minutes of
CPU); an admin's visit does, the insights API answers 503 with Retry-After (and the dashboard a page that
reloads itself) while the index builds in the background, then answers 200."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from shopsense.api.app import create_app
from shopsense.core.settings import get_settings
from shopsense.core.store import Store, import_directory
from shopsense.data import demo_store_path
from workspace_fixture import API_KEY


def _small_store(folder: Path, reviews: int = 60) -> Path:
    """The demo store cut to its first ``reviews`` reviews (no models: aspects are scored by the lexicon)."""
    shutil.copytree(demo_store_path(), folder)
    frame = pd.read_csv(folder / "reviews.csv", dtype=str, keep_default_na=False)
    frame.head(reviews).to_csv(folder / "reviews.csv", index=False)
    return folder


def test_first_use_builds_in_the_background(tmp_path: Path) -> None:
    settings = get_settings(tmp_path / "home").model_copy(update={"api_key": API_KEY})
    settings.ensure_dirs()
    with Store.from_settings(settings) as store:
        import_directory(_small_store(tmp_path / "store"), store)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        anonymous = client.get("/v1/insights/alerts")
        assert anonymous.status_code == 503 and "not built yet" in anonymous.json()["detail"]
        assert not client.app.state.workspace.opinions.building()
        client.post("/admin/login", data={"key": API_KEY})  # the dashboard's admin starts it by visiting
        page = client.get("/admin/opinions")
        assert page.status_code == 503 and 'http-equiv="refresh"' in page.text and "being built" in page.text
        first = client.get("/v1/insights/alerts")
        assert first.status_code == 503 and first.headers["Retry-After"] == "30"
        assert "being built" in first.json()["detail"]
        for _ in range(600):  # the build runs on a background thread; nothing waits on it but this test
            answer = client.get("/v1/insights/alerts")
            if answer.status_code != 503:
                break
            time.sleep(0.5)
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"].startswith("lexicon")
        assert client.get("/admin/opinions").status_code == 200
