"""Security headers on every response and the CORS allow-list of the staff API (pure ASGI)."""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# JSON is never rendered as a document: forbid everything, including being framed.
JSON_CSP = b"default-src 'none'; frame-ancestors 'none'"
# Pages that set their own frame-ancestors policy (the embeddable feedback form).
_FRAMEABLE = ("/embed/feedback",)


class SecurityHeadersMiddleware:
    """nosniff, no-referrer, DENY framing (but for embeds), HSTS in production, CSP on JSON."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        frameable = scope["path"].startswith(_FRAMEABLE)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                if not frameable:
                    extra.append((b"x-frame-options", b"DENY"))
                if self.hsts:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"application/") and b"json" in content_type:
                    extra.append((b"content-security-policy", JSON_CSP))
                message["headers"] = headers + [h for h in extra if h[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class StaffCORSMiddleware:
    """CORS for the staff API from `origins` only; the public API and codec have their own."""

    def __init__(
        self, app: ASGIApp, origins: list[str], prefix: str, excluded: tuple[str, ...]
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.excluded = excluded
        self.cors = (
            CORSMiddleware(
                app,
                allow_origins=origins,
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                expose_headers=["Retry-After", "X-Request-Id"],
                max_age=600,
            )
            if origins
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            self.cors is not None
            and scope["type"] == "http"
            and path.startswith(self.prefix)
            and not path.startswith(self.excluded)
        ):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
