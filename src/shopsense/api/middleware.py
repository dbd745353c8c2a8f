"""Request body size limit and Prometheus request metrics."""

from __future__ import annotations

import json
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopsense.api.errors import error_body


class Metrics:
    """The Prometheus metrics one app instance exports at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("shopsense_requests_total", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("shopsense_request_seconds", "HTTP request latency", ["route"],
                                 buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
                                 registry=self.registry)
        self.model_version = Gauge("shopsense_model_version_info", "Model versions being served (value 1)",
                                   ["model", "version"], registry=self.registry)
        self.events = Counter("shopsense_events_accepted_total", "Events stored", ["type"],
                              registry=self.registry)


class BodyLimitAndMetrics:
    """ASGI middleware: bodies over ``max_body_bytes`` get 413 (declared or chunked), request metrics, the
    identity cookies a dependency asked for, and the security headers of every response.

    A body is read in full before the app sees it (FastAPI reads it whole anyway). Past the limit the rest
    is read and dropped, up to :data:`DRAIN_BYTES`, so the client receives the 413 instead of a reset
    connection; beyond that the connection is closed.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int) -> None:
        self.app, self.metrics, self.max_body_bytes = app, metrics, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status_holder = {"status": 500}

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message = {**message, "headers": _with_security_headers(scope, message.get("headers", []))}
            await send(message)

        body = await self._read_body(scope, receive)
        if body is None:
            await self._too_large(tracking_send)
        else:
            await self.app(scope, _replay(body, receive), tracking_send)
        self._record(scope, status_holder["status"], start)

    async def _read_body(self, scope: Scope, receive: Receive) -> list[Message] | None:
        """The request's body messages, or None when it is over the limit (the rest drained)."""
        declared = dict(scope.get("headers") or []).get(b"content-length")
        over = declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes
        if over and int(declared) > DRAIN_BYTES:
            return None
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                messages.append(message)
                return messages
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                over = True
            if over:
                if received > DRAIN_BYTES:
                    return None
            else:
                messages.append(message)
            if not message.get("more_body", False):
                return None if over else messages

    async def _too_large(self, send: Send) -> None:
        body = json.dumps(error_body(f"request body larger than {self.max_body_bytes} bytes")).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    def _record(self, scope: Scope, status: int, start: float) -> None:
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        self.metrics.requests.labels(scope.get("method", ""), path, str(status)).inc()
        self.metrics.latency.labels(path).observe(time.perf_counter() - start)


DRAIN_BYTES = 64 * 1024 * 1024
# Pages load only their own scripts; inline style attributes are used by the templates.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: "
               "https:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")

# FastAPI's Swagger UI and ReDoc pages load their scripts from a CDN and run one inline script.
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; style-src 'self' "
               "'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; img-src 'self' data: https:; "
               "font-src 'self' https://fonts.gstatic.com; worker-src blob:; frame-ancestors 'none'")


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages) or [{"type": "http.request", "body": b"", "more_body": False}]

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()  # after the body: the disconnect message

    return replayed


def _with_security_headers(scope: Scope, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    out = list(headers)
    content_type = next((v for k, v in out if k.lower() == b"content-type"), b"")
    out.append((b"x-content-type-options", b"nosniff"))
    out.append((b"referrer-policy", b"same-origin"))
    if content_type.startswith(b"text/html"):
        out.append((b"x-frame-options", b"DENY"))
        policy = DOCS_POLICY if scope.get("path") in ("/docs", "/redoc") else PAGE_POLICY
        out.append((b"content-security-policy", policy.encode()))
    state = scope.get("state") or {}
    secure = "; Secure" if scope.get("scheme") == "https" else ""
    for name, value, max_age, same_site in state.get("set_cookies", []):
        out.append((b"set-cookie", f"{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; "
                                   f"SameSite={same_site}{secure}".encode()))
    if state.get("clear_shopper_cookie"):
        from shopsense.api.identity import SHOPPER_COOKIE

        out.append((b"set-cookie", f"{SHOPPER_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=lax{secure}".encode()))
    return out
