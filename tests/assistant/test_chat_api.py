"""``/v1/chat`` and friends through the real app (TestClient), and ``shopsense chat`` through the real CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shopsense.api.app import create_app
from shopsense.cli import app as cli_app
from shopsense.core.settings import Settings
from shopsense.core.store import Store
from workspace_fixture import API_KEY, as_shopper


@pytest.fixture(scope="module")
def client(workspace: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(workspace), raise_server_exceptions=False) as c:
        yield c


def test_chat_turn_returns_catalog_items_and_sources(client: TestClient, workspace: Settings) -> None:
    body = client.post("/v1/chat", json={"message": "do you have any jigsaw puzzles?"})
    assert body.status_code == 200, body.text
    data = body.json()
    assert {"reply", "items", "sources", "intent", "escalated", "session_id"} <= set(data)
    assert data["items"] and not data["escalated"]
    assert data["session_id"].startswith("s_") and len(data["session_id"]) > 20  # issued by the server
    with Store.from_settings(workspace) as store:
        items = store.load().items.set_index("item_id")
    for item in data["items"]:
        assert item["title"] == items.loc[item["item_id"], "title"]
    assert {s["id"] for s in data["sources"]} == {i["item_id"] for i in data["items"]}
    follow = client.post("/v1/chat", json={"session_id": data["session_id"],
                                           "message": "tell me about the first one"}).json()
    assert follow["items"][0]["item_id"] == data["items"][0]["item_id"]
    assert follow["turn"] > data["turn"] and follow["session_id"] == data["session_id"]


def test_a_session_id_the_server_did_not_issue_is_unknown(client: TestClient) -> None:
    chosen = client.post("/v1/chat", json={"session_id": "api-chosen", "message": "hello"})
    assert chosen.status_code == 404 and chosen.json()["errors"][0]["field"] == "session_id"


def test_streaming_variant_sends_meta_deltas_and_done(client: TestClient) -> None:
    with client.stream("POST", "/v1/chat/stream", json={"message": "What is your returns policy?"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = "".join(response.iter_text())
    events = [(block.split("\n")[0][len("event: "):], json.loads(block.split("\n")[1][len("data: "):]))
              for block in raw.strip().split("\n\n")]
    kinds = [k for k, _ in events]
    assert kinds[0] == "meta" and kinds[-1] == "done" and kinds.count("delta") > 3
    meta, done = events[0][1], events[-1][1]
    assert meta["sources"][0]["type"] == "faq" and meta["session_id"].startswith("s_")
    assert "".join(e["text"] for k, e in events if k == "delta") == done["reply"]


def test_thumbs_up_and_down_are_feedback_events(client: TestClient, workspace: Settings) -> None:
    shopper = as_shopper(workspace, "u_fb")
    first = client.post("/v1/chat", json={"message": "I'm looking for a teddy bear"}, headers=shopper).json()
    session, turn = first["session_id"], first["turn"]
    vote = client.post("/v1/chat/feedback", json={"session_id": session, "turn": turn, "helpful": False,
                                                  "comment": "call me on 07700 900123"}, headers=shopper)
    assert vote.status_code == 201 and vote.json()["stored"] is True
    again = client.post("/v1/chat/feedback", json={"session_id": session, "turn": turn, "helpful": False},
                        headers=shopper)
    assert again.status_code == 201 and again.json()["stored"] is False  # one vote per reply
    stranger = client.post("/v1/chat/feedback", json={"session_id": session, "turn": turn, "helpful": True},
                           headers=as_shopper(workspace, "u_other"))
    assert stranger.status_code == 404
    with Store.from_settings(workspace) as store:
        events = store.events_since(None)
    mine = events[(events["type"] == "chat_feedback") & (events["session_id"] == session)]
    assert len(mine) == 1 and mine.iloc[0]["value"] == -1.0 and mine.iloc[0]["user_id"] == "u_fb"
    payload = mine.iloc[0]["payload"]
    assert payload["action"] == "recommend" and payload["items"] and "900123" not in payload["comment"]


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"message": ""}, 422, "message"),
    ({"session_id": "bad id!", "message": "hi"}, 422, "session_id"),
    ({"session_id": "07700900123", "message": "hi"}, 422, "session_id"),
    ({}, 422, "message"),
    ({"message": "hi", "colour": "red"}, 422, "colour"),
])
def test_bad_chat_requests_name_the_field(client: TestClient, body: dict, status: int, field: str) -> None:
    response = client.post("/v1/chat", json=body)
    assert response.status_code == status
    assert any(e["field"] == field for e in response.json()["errors"]), response.json()


def test_feedback_on_an_unknown_turn_or_session(client: TestClient) -> None:
    session = client.post("/v1/chat", json={"message": "hello"}).json()["session_id"]
    user_turn = client.post("/v1/chat/feedback", json={"session_id": session, "turn": 0, "helpful": True})
    assert user_turn.status_code == 422 and user_turn.json()["errors"][0]["field"] == "turn"
    unknown = client.post("/v1/chat/feedback", json={"session_id": "api-nobody", "turn": 1, "helpful": True})
    assert unknown.status_code == 404


def test_someone_elses_session_is_unreadable_and_cannot_be_taken_over(client: TestClient,
                                                                      workspace: Settings) -> None:
    alice, bob = as_shopper(workspace, "u_a"), as_shopper(workspace, "u_b")
    session = client.post("/v1/chat", json={"message": "hello"}, headers=alice).json()["session_id"]
    for intruder in (bob, {}):  # another shopper, and an anonymous caller claiming to be alice
        other = client.post("/v1/chat", json={"session_id": session, "user_id": "u_a",
                                              "message": "where is my order?"}, headers=intruder)
        assert other.status_code == 404 and other.json()["errors"][0]["field"] == "session_id"
        assert client.get(f"/v1/chat/sessions/{session}", headers=intruder).status_code == 404
    mine = client.get(f"/v1/chat/sessions/{session}", headers=alice)
    assert mine.status_code == 200 and [t["role"] for t in mine.json()["turns"]] == ["user", "assistant"]


def test_an_anonymous_visitors_session_is_bound_to_their_cookie(workspace: Settings) -> None:
    with TestClient(create_app(workspace)) as visitor, TestClient(create_app(workspace)) as stranger:
        session = visitor.post("/v1/chat", json={"message": "hello"}).json()["session_id"]
        assert "shopsense_visitor" in visitor.cookies
        assert visitor.get(f"/v1/chat/sessions/{session}").status_code == 200
        assert stranger.get(f"/v1/chat/sessions/{session}").status_code == 404
        taken = stranger.post("/v1/chat", json={"session_id": session, "message": "hi"})
        assert taken.status_code == 404
        assert len(visitor.get(f"/v1/chat/sessions/{session}").json()["turns"]) == 2  # nothing was added


def test_tickets_are_listed_for_admins_only(client: TestClient) -> None:
    reply = client.post("/v1/chat", json={"message": "I want to talk to a human"}).json()
    assert reply["escalated"] and reply["ticket_id"]
    assert client.get("/v1/admin/tickets").status_code == 401
    listed = client.get("/v1/admin/tickets", headers={"X-API-Key": API_KEY})
    assert listed.status_code == 200
    assert any(t["ticket_id"] == reply["ticket_id"] and t["reason"] == "asked_for_human" for t in listed.json())


def test_storefront_pages_carry_the_chat_widget(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'id="shopsense-chat"' in page.text and "/static/chat.js" in page.text
    script = client.get("/static/chat.js")
    assert script.status_code == 200 and "/v1/chat/stream" in script.text and "/v1/chat/feedback" in script.text


def test_cli_chat_one_shot_json(workspace: Settings) -> None:
    runner = CliRunner()
    result = runner.invoke(cli_app, ["chat", "--home", str(workspace.home), "--json", "--session", "cli-t1",
                                     "-m", "I want to buy a kite", "-m", "the first one"])
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.strip().splitlines())
    assert first["items"] and second["items"][0]["item_id"] == first["items"][0]["item_id"]
    assert first["session_id"] == "cli-t1"


def test_cli_chat_reports_bad_input_without_a_traceback(workspace: Settings, tmp_path) -> None:  # noqa: ANN001
    runner = CliRunner()
    bad = runner.invoke(cli_app, ["chat", "--home", str(workspace.home), "--session", "no spaces", "-m", "hi"])
    assert bad.exit_code == 2 and "session_id" in bad.output and "Traceback" not in bad.output
    empty = runner.invoke(cli_app, ["chat", "--home", str(tmp_path / "empty"), "-m", "hi"])
    assert empty.exit_code == 1 and "shopsense import DIR" in empty.output and "shopsense train" in empty.output
    assert not (tmp_path / "empty").exists()


def test_no_input_makes_the_chat_endpoints_fail(client: TestClient) -> None:
    """Schemathesis drives the chat operations with generated bodies (odd Unicode, huge numbers...): 4xx at
    worst, never a 5xx."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures: list[str] = []
    tested = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith("/v1/chat"):
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def run(case) -> None:  # noqa: ANN001
            response = case.call()
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.body!r}: {response.text[:300]}")

        run()
        tested += 1
    assert tested == 4
    assert not failures, "\n".join(failures[:10])
