"""Health, readiness and Prometheus metrics (outside /api/v1)."""

from __future__ import annotations

import asyncio
import logging

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from api.deps import CurrentUser

router = APIRouter(tags=["operations"])
log = logging.getLogger("closedloop.ops")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Postgres and Temporal both answer within two seconds."""
    checks: dict[str, str] = {}
    try:
        async with request.app.state.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=2)
        checks["postgres"] = "ok"
    except Exception as exc:  # any failure means "not ready", reported, never raised
        checks["postgres"] = f"error: {type(exc).__name__}"
    try:
        await asyncio.wait_for(request.app.state.temporal.service_client.check_health(), timeout=2)
        checks["temporal"] = "ok"
    except Exception as exc:
        checks["temporal"] = f"error: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request, _: CurrentUser) -> PlainTextResponse:
    """HTTP metrics of this process plus the Temporal SDK's client metrics."""
    body = generate_latest().decode()
    sdk_address = getattr(request.app.state, "sdk_metrics_address", None)
    if sdk_address:
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                body += (await http.get(f"http://{sdk_address}/metrics")).text
        except httpx.HTTPError:
            log.warning("temporal SDK metrics endpoint did not answer")
    return PlainTextResponse(body, media_type=CONTENT_TYPE_LATEST)
