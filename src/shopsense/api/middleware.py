"""Request body size limit and Prometheus request metrics."""

from __future__ import annotations

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
    """ASGI middleware: rejects bodies over ``max_body_bytes`` with 413 and records request metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int) -> None:
        self.app, self.metrics, self.max_body_bytes = app, metrics, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status_holder = {"status": 500}
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(send, status_holder)
            self._record(scope, status_holder["status"], start)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            await self._too_large(send, status_holder)
        self._record(scope, status_holder["status"], start)

    async def _too_large(self, send: Send, status_holder: dict) -> None:
        import json

        body = json.dumps(error_body(f"request body larger than {self.max_body_bytes} bytes")).encode()
        status_holder["status"] = 413
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def _record(self, scope: Scope, status: int, start: float) -> None:
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        self.metrics.requests.labels(scope.get("method", ""), path, str(status)).inc()
        self.metrics.latency.labels(path).observe(time.perf_counter() - start)


class _BodyTooLarge(Exception):
    pass
