"""Request dependencies: settings, DB session, Temporal client and the authenticated caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from core.errors import Forbidden, Unauthorized
from core.pii import ACCESS_PENDING
from core.security import API_KEY_PREFIX, InvalidTokenError, decode_access_token, hash_api_key
from core.settings import Settings
from models import ApiKey, User

_bearer = HTTPBearer(auto_error=False, description="JWT from /auth/token or an API key")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: int
    role: str
    department_id: int | None
    via_api_key: bool = False

    @property
    def actor(self) -> str:
        return f"user:{self.user_id}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session
        if session.info.pop(ACCESS_PENDING, False):  # clear-text reads of personal data
            await session.commit()


def get_temporal(request: Request) -> Client:
    return request.app.state.temporal  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
TemporalDep = Annotated[Client, Depends(get_temporal)]


async def _user_for_api_key(session: AsyncSession, key: str) -> User | None:
    api_key = await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_api_key(key), ApiKey.revoked_at.is_(None))
    )
    if api_key is None:
        return None
    now = datetime.now(UTC)
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
        await session.execute(
            update(ApiKey).where(ApiKey.id == api_key.id).values(last_used_at=now)
        )
        await session.commit()
    return await session.get(User, api_key.user_id)


async def current_principal(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """401 unless a valid bearer token or API key of an active user is presented."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing bearer token")
    token = credentials.credentials
    if token.startswith(API_KEY_PREFIX):
        user = await _user_for_api_key(session, token)
        via_key = True
    else:
        try:
            previous = [key.get_secret_value() for key in settings.previous_secret_keys]
            claims = decode_access_token(token, settings.secret_key.get_secret_value(), previous)
        except InvalidTokenError as exc:
            raise Unauthorized("invalid or expired token") from exc
        user = await session.get(User, claims.user_id)
        via_key = False
    if user is None or not user.is_active:
        raise Unauthorized("invalid or expired token")
    return Principal(user.id, user.role, user.department_id, via_api_key=via_key)


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str):  # type: ignore[no-untyped-def]
    """A dependency that admits only the given roles (403 otherwise)."""

    async def check(principal: CurrentUser) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"requires role: {' or '.join(roles)}")
        return principal

    return Depends(check)


AdminUser = Annotated[Principal, require_roles("admin")]
ManagerOrAdmin = Annotated[Principal, require_roles("manager", "admin")]
