"""POST /auth/token: OAuth2 password login → JWT."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy import func, select

from api.deps import SessionDep, SettingsDep
from core.errors import Unauthorized
from core.security import issue_access_token, verify_password
from models import User

router = APIRouter(tags=["auth"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post("/auth/token", response_model=TokenResponse)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> TokenResponse:
    """Exchange email + password for a bearer token."""
    user = await session.scalar(select(User).where(func.lower(User.email) == form.username.lower()))
    if not verify_password(form.password, user.password_hash if user else None) or not (
        user and user.is_active
    ):
        raise Unauthorized("wrong email or password")
    ttl = timedelta(minutes=settings.access_token_ttl_minutes)
    token = issue_access_token(user.id, user.role, settings.secret_key.get_secret_value(), ttl)
    return TokenResponse(access_token=token, expires_in=int(ttl.total_seconds()))
