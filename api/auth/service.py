"""Password login shared by the bearer-token endpoint and the console: lockout included."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.lockout import check_login_allowed, clear_failures, record_failure
from core.errors import Unauthorized
from core.security import verify_password
from core.settings import Settings
from models import User


async def authenticate(
    session: AsyncSession, settings: Settings, email: str, password: str, host: str | None
) -> User:
    """The active user with these credentials; 401 otherwise, 429 while locked out."""
    await check_login_allowed(session, settings, email, host)
    user = await session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if not verify_password(password, user.password_hash if user else None) or not (
        user and user.is_active
    ):
        await record_failure(session, settings, email, host)
        raise Unauthorized("wrong email or password")
    await clear_failures(session, email, host)
    return user
