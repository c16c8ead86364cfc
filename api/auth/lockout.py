"""Login guard: failures per email+IP lock the pair out; kept in Postgres for every process."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.intake.ratelimit import RateLimited
from core.settings import Settings
from models import LoginFailure


def _client_ip(host: str | None) -> str:
    return (host or "unknown")[:64]


async def check_login_allowed(
    session: AsyncSession, settings: Settings, email: str, host: str | None
) -> None:
    """Raise RateLimited (429 + Retry-After) while the email+IP pair or the IP is locked out."""
    now = datetime.now(UTC)
    ip = _client_ip(host)
    since = now - timedelta(seconds=settings.login_failure_window_seconds)
    lockout = timedelta(seconds=settings.login_lockout_seconds)
    pair = await session.execute(
        select(func.count(), func.max(LoginFailure.at)).where(
            LoginFailure.email == email.lower(), LoginFailure.ip == ip, LoginFailure.at > since
        )
    )
    count, last = pair.one()
    if count >= settings.login_max_failures and last is not None and last + lockout > now:
        raise RateLimited(max(1, math.ceil((last + lockout - now).total_seconds())))
    per_ip = await session.execute(
        select(func.count(), func.min(LoginFailure.at)).where(
            LoginFailure.ip == ip, LoginFailure.at > since
        )
    )
    ip_count, first = per_ip.one()
    if ip_count >= settings.login_max_failures_per_ip and first is not None:
        window = timedelta(seconds=settings.login_failure_window_seconds)
        raise RateLimited(max(1, math.ceil((first + window - now).total_seconds())))


async def record_failure(
    session: AsyncSession, settings: Settings, email: str, host: str | None
) -> None:
    """Remember a failed login (committed at once: the request itself then fails).

    The same transaction drops this address's failures older than the window: no check
    counts them any more, and without this the table only grows.
    """
    now = datetime.now(UTC)
    ip = _client_ip(host)
    since = now - timedelta(seconds=settings.login_failure_window_seconds)
    await session.execute(
        delete(LoginFailure).where(LoginFailure.ip == ip, LoginFailure.at <= since)
    )
    session.add(LoginFailure(email=email.lower()[:320], ip=ip, at=now))
    await session.commit()


async def clear_failures(session: AsyncSession, email: str, host: str | None) -> None:
    """A successful login forgives the pair's earlier failures."""
    await session.execute(
        delete(LoginFailure).where(
            LoginFailure.email == email.lower(), LoginFailure.ip == _client_ip(host)
        )
    )
    await session.commit()
