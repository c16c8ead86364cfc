"""Intake: public feedback API and embed page, categories and routing rules, inbound mail."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.errors import error_response
from api.intake.admin import router as admin_router
from api.intake.cors import PublicCORSMiddleware
from api.intake.public import embed_router
from api.intake.public import router as public_router
from api.intake.ratelimit import RateLimited
from core.settings import Settings


async def _rate_limited(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    headers = {"Retry-After": str(exc.retry_after)}
    return error_response(exc.status_code, exc.code, exc.message, exc.details, headers)


def install_intake(app: FastAPI, settings: Settings, prefix: str) -> None:
    """Mount the intake routers, the 429 renderer and CORS for the public API."""
    app.include_router(public_router, prefix=prefix)
    app.include_router(admin_router, prefix=prefix)
    app.include_router(embed_router)
    app.add_exception_handler(RateLimited, _rate_limited)
    app.add_middleware(
        PublicCORSMiddleware, origins=settings.public_allowed_origins, prefix=f"{prefix}/public"
    )
