"""CORS for the public API only, from the configured origins; staff endpoints stay closed."""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


class PublicCORSMiddleware:
    """Starlette's CORS handling, applied to paths under `prefix` only."""

    def __init__(self, app: ASGIApp, origins: list[str], prefix: str) -> None:
        self.app = app
        self.prefix = prefix
        self.cors = (
            CORSMiddleware(
                app,
                allow_origins=origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Content-Type", "Idempotency-Key"],
                expose_headers=["Retry-After"],
                max_age=600,
            )
            if origins
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.cors is not None
            and scope["type"] == "http"
            and scope["path"].startswith(self.prefix)
        ):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
