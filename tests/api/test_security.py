"""Identity, admin access, limits, input bounds and personal data, black-box over HTTP against a real
``shopsense serve`` (issue: "nobody sees another person's data, and no anonymous caller can hurt the store")."""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from shopsense.core.identity import SHOPPER, Signer
from shopsense.core.settings import Settings
from shopsense.core.store import Store
from workspace_fixture import API_KEY, NO_LIMITS_ENV, as_shopper, copy_workspace, free_port, shopper_token, start_server

CHAT_LIMIT = 4
EMAIL, PHONE, CARD = "jane.doe@example.com", "07911 123456", "4111 1111 1111 1111"


class Server:
    def __init__(self, home: Path, log: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.log = log
        self.proc = start_server(home, self.port, env=env, stderr=log)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


@pytest.fixture(scope="module")
def home(workspace: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return copy_workspace(workspace, tmp_path_factory.mktemp("security") / "home")


@pytest.fixture(scope="module")
def server(home: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {**NO_LIMITS_ENV, "SHOPSENSE_API_KEY": API_KEY, "SHOPSENSE_CHAT_RATE_LIMIT": f"{CHAT_LIMIT}/minute"}
    server = Server(home.home, tmp_path_factory.mktemp("security-log") / "server.log", env)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shopper_with_orders(home: Settings) -> tuple[str, list[str]]:
    with Store.from_settings(home) as store:
        orders = store.load().orders
    user = str(orders["user_id"].value_counts().index[0])
    return user, sorted(orders.loc[orders["user_id"] == user, "order_id"].astype(str))


def test_a_claimed_user_id_reveals_no_orders_or_history(server: Server, home: Settings,
                                                        shopper_with_orders: tuple[str, list[str]]) -> None:
    user, order_ids = shopper_with_orders
    with httpx.Client(base_url=server.url, timeout=60) as anonymous:
        claimed = anonymous.post("/v1/chat", json={"user_id": user, "message": "where is my order?"}).json()
        assert not any(o in claimed["reply"] for o in order_ids)
        assert not any(s["type"] == "order" for s in claimed["sources"])
        recs = anonymous.get("/v1/recommendations", params={"user_id": user, "k": 5}).json()
        assert recs["source"] != "personal" and recs["items"]
        assert not any("you bought" in (i["explanation"] or "").lower() for i in recs["items"])
    with httpx.Client(base_url=server.url, timeout=60, headers=as_shopper(home, user)) as signed_in:
        mine = signed_in.post("/v1/chat", json={"message": "where is my order?"}).json()
        assert any(o in mine["reply"] for o in order_ids), mine["reply"]  # the same question, verified
        assert signed_in.get("/v1/recommendations", params={"k": 5}).json()["source"] == "personal"
        assert signed_in.get("/v1/auth/me").json() == {"user_id": user, "anonymous": False}


def test_bad_tokens_get_401_with_a_reason(server: Server, home: Settings) -> None:
    forged = Signer("another store's secret, long enough to sign").mint("u_x", SHOPPER)
    cases = {"expired": shopper_token(home, "u_x", ttl_seconds=-120), "signature": forged,
             "malformed": "not.a.jwt"}
    for reason, token in cases.items():
        r = httpx.get(f"{server.url}/v1/recommendations", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and reason in r.json()["detail"], (reason, r.text)
    minted = httpx.post(f"{server.url}/v1/auth/shopper-token", json={"user_id": "u_backend"})
    assert minted.status_code == 401  # only with the admin key
    minted = httpx.post(f"{server.url}/v1/auth/shopper-token", json={"user_id": "u_backend"},
                        headers={"X-API-Key": API_KEY}).json()
    me = httpx.get(f"{server.url}/v1/auth/me", headers={"Authorization": f"Bearer {minted['token']}"})
    assert me.json()["user_id"] == "u_backend"


def test_sessions_are_private_across_a_real_server(server: Server, home: Settings) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as visitor, httpx.Client(base_url=server.url) as other:
        session = visitor.post("/v1/chat", json={"message": "hello"}).json()["session_id"]
        assert visitor.get(f"/v1/chat/sessions/{session}").status_code == 200
        assert other.get(f"/v1/chat/sessions/{session}").status_code == 404
        takeover = other.post("/v1/chat", json={"session_id": session, "message": "where is my order?"},
                              headers=as_shopper(home, "u_thief"))
        assert takeover.status_code == 404
        cookie = next(c for c in visitor.cookies.jar if c.name == "shopsense_visitor")
        assert cookie.has_nonstandard_attr("HttpOnly")


def test_admin_surface_is_closed_without_a_key_and_open_after_login(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as browser:
        for path in ("/admin", "/admin/opinions", "/admin/copy", "/admin/opinions/trend.png", "/docs"):
            r = browser.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/admin/login"), path
        assert browser.get("/metrics").status_code == 401
        assert browser.get("/v1/admin/models").status_code == 401
        home_page = browser.get("/").text
        assert "demo-switcher" not in home_page and not re.search(r"u_[0-9a-f]{12}", home_page)
        assert browser.post("/demo/shopper", data={"user": "u_x"}).status_code == 404  # demo mode only
        wrong = browser.post("/admin/login", data={"key": "guess", "next": "/admin"})
        assert wrong.status_code == 401 and "not the admin key" in wrong.text
        login = browser.post("/admin/login", data={"key": API_KEY, "next": "/admin"})
        assert login.status_code == 303 and login.headers["location"] == "/admin"
        set_cookie = login.headers["set-cookie"]
        assert "shopsense_admin=" in set_cookie and "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie
        dashboard = browser.get("/admin")
        assert dashboard.status_code == 200 and "Hand-over tickets" in dashboard.text
        assert browser.get("/admin/opinions/trend.png").headers["content-type"] == "image/png"
        assert browser.get("/docs").status_code == 200
        assert browser.post("/admin/logout", data={}).status_code == 403  # no CSRF token
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', dashboard.text).group(1)
        assert browser.post("/admin/logout", data={"csrf_token": token}).status_code == 303
        assert browser.get("/admin").status_code == 303
    scraped = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {API_KEY}"})
    assert scraped.status_code == 200 and "shopsense_requests_total" in scraped.text


def test_tickets_appear_on_the_dashboard_with_their_transcript(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as shopper:
        reply = shopper.post("/v1/chat", json={"message": "I want to talk to a human please"}).json()
    assert reply["ticket_id"]
    with httpx.Client(base_url=server.url, timeout=60) as admin:
        admin.post("/admin/login", data={"key": API_KEY, "next": "/admin"})
        page = admin.get("/admin").text
    assert reply["ticket_id"] in page and "talk to a human please" in page


def test_chat_answers_429_after_the_limit_while_health_stays_up(server: Server, home: Settings) -> None:
    with httpx.Client(base_url=server.url, timeout=60, headers=as_shopper(home, "u_limited")) as client:
        codes = [client.post("/v1/chat", json={"message": "hello"}).status_code for _ in range(CHAT_LIMIT)]
        assert codes == [200] * CHAT_LIMIT
        limited = client.post("/v1/chat", json={"message": "hello"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert client.get("/healthz").status_code == 200
        assert client.get("/v1/recommendations").status_code == 200  # other endpoints have their own budget


def test_oversized_bodies_get_413_declared_or_chunked(server: Server) -> None:
    big = httpx.post(f"{server.url}/v1/events", content=b"x" * 8_000_000,
                     headers={"content-type": "application/json"}, timeout=60)
    assert big.status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(32):
            yield b"y" * 65_536  # 2 MiB without a Content-Length

    chunked = httpx.post(f"{server.url}/v1/chat", content=chunks(), headers={"content-type": "application/json"},
                         timeout=60)
    assert chunked.status_code == 413 and "larger than" in chunked.json()["detail"]


def test_an_event_from_the_far_future_is_refused(server: Server) -> None:
    r = httpx.post(f"{server.url}/v1/events", json={"type": "view", "item_id": "x",
                                                    "created_at": "8999-01-01T00:00:00Z"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "created_at"


def test_pages_send_security_headers(server: Server) -> None:
    page = httpx.get(f"{server.url}/")
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert httpx.get(f"{server.url}/v1/trending").headers["x-content-type-options"] == "nosniff"


def test_no_personal_data_reaches_the_server_log_or_the_store(server: Server, home: Settings) -> None:
    # signed in: its own chat budget, whatever the other tests' anonymous turns left of the address's one
    with httpx.Client(base_url=server.url, timeout=60, headers=as_shopper(home, "u_private")) as client:
        client.post("/v1/chat", json={"message": f"my email is {EMAIL}, phone {PHONE}, card {CARD}"})
        client.post("/v1/events", json={"type": "view", "item_id": "x", "payload": {EMAIL: PHONE, "card": CARD}})
        client.get("/v1/search", params={"q": f"gift for {EMAIL}"})
        assert httpx.post(f"{server.url}/v1/events", json={"user_id": EMAIL, "type": "view", "item_id": "x"},
                          headers={"X-API-Key": API_KEY}).status_code == 422
        assert client.post("/v1/chat", json={"message": "hi", "session_id": "07911123456"}).status_code == 422
    with Store.from_settings(home) as store:
        store.checkpoint()
    stored = b"".join(p.read_bytes() for p in home.home.glob("store.db*"))
    log = server.log.read_text(errors="replace")
    assert "/v1/search" in log  # the access log is there, masked
    for raw in (EMAIL, PHONE, CARD, PHONE.replace(" ", ""), CARD.replace(" ", "")):
        assert raw not in log, raw
        assert raw.encode() not in stored, raw


def test_two_server_processes_keep_every_concurrent_turn(workspace: Settings, tmp_path: Path) -> None:
    home = copy_workspace(workspace, tmp_path / "home")
    env = {**NO_LIMITS_ENV, "SHOPSENSE_API_KEY": API_KEY}
    procs: list[subprocess.Popen] = []
    started: list[tuple[subprocess.Popen, int]] = []
    errors: list[str] = []

    def start() -> None:  # both at once: the schema creation must not collide
        port = free_port()
        try:
            started.append((start_server(home.home, port, env=env), port))
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    procs = [p for p, _ in started]
    try:
        assert not errors and len(started) == 2, errors
        urls = [f"http://127.0.0.1:{port}" for _, port in started]
        headers = as_shopper(home, "u_busy")
        session = httpx.post(f"{urls[0]}/v1/chat", json={"message": "hello"}, headers=headers,
                             timeout=60).json()["session_id"]
        turns: list[int] = []

        def say(n: int) -> None:
            r = httpx.post(f"{urls[n % 2]}/v1/chat", json={"session_id": session, "message": f"hello {n}"},
                           headers=headers, timeout=120)
            if r.status_code == 200:
                turns.append(r.json()["turn"])
            else:
                errors.append(f"{r.status_code} {r.text[:200]}")

        workers = [threading.Thread(target=say, args=(n,)) for n in range(32)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert not errors, errors[:3]
        assert sorted(turns) == list(range(3, 3 + 2 * 32, 2))  # 32 replies, each with its own number
    finally:
        for p in procs:
            p.terminate()
            p.wait(30)


def test_a_stored_far_future_timestamp_breaks_no_reader(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        store.append_events([{"event_id": "old-bug", "user_id": "u", "type": "view", "item_id": "x",
                              "created_at": datetime(8999, 1, 1, tzinfo=UTC)}])
        events = store.events_since(None)
    assert events.loc[0, "created_at"] == events.loc[0, "received_at"]  # read as "when it arrived"

