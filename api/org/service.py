"""Organisation services shared by the API and the CLI."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.security import hash_password
from models import User


async def ensure_first_admin(session: AsyncSession, email: str, password: str) -> User | None:
    """Create the first admin when no user exists yet; None if users already exist."""
    if await session.scalar(select(func.count()).select_from(User)):
        return None
    user = User(
        email=email.lower(),
        name="Administrator",
        password_hash=hash_password(password),
        role="admin",
    )
    session.add(user)
    await session.commit()
    return user
