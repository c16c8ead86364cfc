"""POST /auth/token: OAuth2 password login → JWT."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.auth.service import authenticate
from api.deps import SessionDep, SettingsDep
from core.security import issue_access_token

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
    user = await authenticate(session, settings, form.username, form.password, host)
    ttl = timedelta(minutes=settings.access_token_ttl_minutes)
    token = issue_access_token(user.id, user.role, settings.secret_key.get_secret_value(), ttl)
    return TokenResponse(access_token=token, expires_in=int(ttl.total_seconds()))
