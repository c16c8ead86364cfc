"""Codec server for the Temporal UI: router, codec instance and CORS for the UI's origins."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from api.codec.endpoints import router
from core.codec import EncryptionCodec
from core.settings import Settings


class CodecCORSMiddleware:
    """CORS (preflight included) for the codec paths only, from `temporal_ui_origins`."""

    def __init__(self, app: ASGIApp, origins: list[str], prefix: str) -> None:
        self.app, self.prefix = app, prefix
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["POST"],
            # The UI sends X-Namespace always and Authorization with "pass access token".
            allow_headers=["Authorization", "Content-Type", "X-Namespace"],
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install_codec(app: FastAPI, settings: Settings, prefix: str) -> None:
    """Mount /codec/encode and /codec/decode with the settings' keyring and UI CORS."""
    app.state.payload_codec = EncryptionCodec(settings.keyring())
    app.include_router(router, prefix=prefix)
    if settings.temporal_ui_origins:
        app.add_middleware(
            CodecCORSMiddleware, origins=settings.temporal_ui_origins, prefix=f"{prefix}/codec"
        )
