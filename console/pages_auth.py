"""Console login and logout: the same credentials and lockout as /auth/token."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.auth.service import authenticate
from api.deps import SessionDep, SettingsDep
from api.intake.ratelimit import RateLimited
from console.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    ConsoleUser,
    check_csrf,
    set_session_cookie,
)
from console.render import render
from core.errors import Unauthorized
from services.console.sessions import LANGUAGES, end_session, start_session

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only paths inside the console: never an open redirect."""
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return "/console/"


def _login_page(
    request: Request, lang: str, next_path: str, error: str | None, status_code: int
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        lang,
        {"csrf_token": token, "next": next_path, "error": error},
        status_code,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/console")
    return response


@router.get("/login")
async def login_form(request: Request, next: str | None = None, lang: str = "zh") -> Response:
    """The login form (Chinese unless `?lang=en`)."""
    lang = lang if lang in LANGUAGES else "zh"
    return _login_page(request, lang, _safe_next(next), None, 200)


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/console/",
    lang: Annotated[str, Form(max_length=8)] = "zh",
) -> Response:
    """Check the credentials; on success a fresh session cookie and a redirect."""
    check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token)
    lang = lang if lang in LANGUAGES else "zh"
    host = request.client.host if request.client else None
    try:
        user = await authenticate(session, settings, username, password, host)
    except Unauthorized:
        return _login_page(request, lang, _safe_next(next), "wrong email or password", 401)
    except RateLimited as exc:
        page = _login_page(request, lang, _safe_next(next), "too many failed logins", 429)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    token = await start_session(session, user.id, datetime.now(UTC))
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, token, secure=settings.env == "production")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return response


@router.post("/logout")
async def logout(
    request: Request,
    caller: ConsoleUser,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """End the session server-side and drop the cookie."""
    check_csrf(caller.csrf_token, csrf_token)
    await end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response
