"""The login guard's memory: failures past the window are pruned when a new one is recorded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import make_sessionmaker
from core.settings import Settings
from models import LoginFailure

TOKEN = "/api/v1/auth/token"


def unique_ip() -> str:
    """A documentation-range address no other test logs in from."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


async def failures_from(engine: AsyncEngine, *ips: str) -> list[tuple[str, str]]:
    """The stored failures from these addresses, as sorted (email, ip) pairs."""
    async with make_sessionmaker(engine)() as session:
        rows = await session.execute(
            select(LoginFailure.email, LoginFailure.ip).where(LoginFailure.ip.in_(ips))
        )
        return sorted((email, ip) for email, ip in rows)


async def test_a_failed_login_prunes_that_address_failures_older_than_the_window(
    app: object, engine: AsyncEngine, settings: Settings
) -> None:
    ip, elsewhere = unique_ip(), unique_ip()
    now = datetime.now(UTC)
    expired = now - timedelta(seconds=settings.login_failure_window_seconds + 60)
    recent = now - timedelta(seconds=settings.login_failure_window_seconds / 2)
    async with make_sessionmaker(engine).begin() as session:
        session.add_all(
            [
                LoginFailure(email="old@example.com", ip=ip, at=expired),
                LoginFailure(email="sprayed@example.com", ip=ip, at=expired),
                LoginFailure(email="recent@example.com", ip=ip, at=recent),
                LoginFailure(email="old@example.com", ip=elsewhere, at=expired),
            ]
        )

    transport = httpx.ASGITransport(app=app, client=(ip, 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(
            TOKEN, data={"username": "old@example.com", "password": "wrong-password-1"}
        )
    assert response.status_code == 401

    assert await failures_from(engine, ip, elsewhere) == sorted(
        [
            ("old@example.com", ip),  # the failure just recorded
            ("recent@example.com", ip),  # still inside the window: still counts
            ("old@example.com", elsewhere),  # another address: left for its own next failure
        ]
    )


async def test_pruned_failures_never_counted_so_the_lockout_still_engages_on_fresh_ones(
    app: object, engine: AsyncEngine, settings: Settings
) -> None:
    ip = unique_ip()
    email = f"guarded-{uuid.uuid4().hex[:8]}@example.com"
    expired = datetime.now(UTC) - timedelta(seconds=settings.login_failure_window_seconds + 60)
    async with make_sessionmaker(engine).begin() as session:
        session.add_all(
            LoginFailure(email=email, ip=ip, at=expired) for _ in range(settings.login_max_failures)
        )

    transport = httpx.ASGITransport(app=app, client=(ip, 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        form = {"username": email, "password": "wrong-password-1"}
        statuses = [
            (await client.post(TOKEN, data=form)).status_code
            for _ in range(settings.login_max_failures + 1)
        ]
    assert statuses == [401] * settings.login_max_failures + [429]
    # Only the fresh failures remain: the expired ones went with the first new one.
    assert await failures_from(engine, ip) == [(email, ip)] * settings.login_max_failures
