"""Request ids, access logs, HTTP metrics and the request body limit (pure ASGI)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response
from core.logging import request_id_var

log = logging.getLogger("closedloop.access")

HTTP_REQUESTS = Counter(
    "closedloop_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "closedloop_http_request_duration_seconds", "HTTP request latency", ["method", "route"]
)


class RequestContextMiddleware:
    """Tags each request with an id, times it, counts it and caps its body size."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, upload_limits: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.default_limit = max_body_bytes
        # Path suffix → limit, for the few endpoints that take files (bulk import).
        self.upload_limits = upload_limits or {}

    def _limit_for(self, path: str) -> int:
        for suffix, limit in self.upload_limits.items():
            if path.endswith(suffix):
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        start = time.perf_counter()
        status = 500
        limit = self._limit_for(scope["path"])
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            response = error_response(
                413, "payload_too_large", f"request body exceeds {limit} bytes"
            )
            await response(scope, receive, send)
            request_id_var.reset(token)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            status = 413
            response = error_response(413, "payload_too_large", "request body too large")
            await response(scope, receive, send)
        finally:
            elapsed = time.perf_counter() - start
            route = _route_template(scope)
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], route).observe(elapsed)
            extra: dict[str, Any] = {
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round(elapsed * 1000, 1),
            }
            log.info("%s %s %s", scope["method"], scope["path"], status, extra=extra)
            request_id_var.reset(token)


class _BodyTooLarge(HTTPException):
    """An HTTPException so the framework renders 413 instead of its generic 400 body error."""

    def __init__(self) -> None:
        super().__init__(413, "request body too large")


def _route_template(scope: Scope) -> str:
    """The matched route's path template, so metrics do not explode per ticket id."""
    template = getattr(scope.get("route"), "path", None)
    if not isinstance(template, str):
        return "unmatched"
    # Routes of an included router know only their own path: take the prefix from the URL.
    parts = scope["path"].split("/")
    depth = template.count("/")
    if ":path}" in template or len(parts) <= depth:
        return template
    return "/".join(parts[: len(parts) - depth]) + template
