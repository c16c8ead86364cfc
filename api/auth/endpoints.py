"""POST /auth/token: OAuth2 password login → JWT."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy import func, select

from api.auth.lockout import check_login_allowed, clear_failures, record_failure
from api.deps import SessionDep, SettingsDep
from core.errors import Unauthorized
from core.security import issue_access_token, verify_password
from models import User

router = APIRouter(tags=["auth"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    responses={429: {"description": "Too many failed logins; see Retry-After"}},
)
async def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> TokenResponse:
    """Exchange email + password for a bearer token; repeated failures lock the email+IP out."""
    host = request.client.host if request.client else None
    await check_login_allowed(session, settings, form.username, host)
    user = await session.scalar(select(User).where(func.lower(User.email) == form.username.lower()))
    if not verify_password(form.password, user.password_hash if user else None) or not (
        user and user.is_active
    ):
        await record_failure(session, settings, form.username, host)
        raise Unauthorized("wrong email or password")
    await clear_failures(session, form.username, host)
    ttl = timedelta(minutes=settings.access_token_ttl_minutes)
    token = issue_access_token(user.id, user.role, settings.secret_key.get_secret_value(), ttl)
    return TokenResponse(access_token=token, expires_in=int(ttl.total_seconds()))
