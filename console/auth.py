"""Console sessions: the cookie, the signed-in caller, CSRF checks and the login redirect."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import Principal, SessionDep, SettingsDep
from core.errors import Forbidden
from services.console.sessions import (
    LANGUAGES,
    remember_language,
    resolve_session,
    user_language,
)

SESSION_COOKIE = "closedloop_console"
LOGIN_CSRF_COOKIE = "closedloop_console_login"


class LoginRequired(Exception):
    """No live session: the browser is sent to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


async def redirect_to_login(request: Request, exc: Exception) -> Response:
    """303 to /console/login, remembering where the user was going."""
    assert isinstance(exc, LoginRequired)
    target = f"/console/login?next={quote(exc.next_path, safe='')}"
    if request.headers.get("HX-Request"):  # htmx follows HX-Redirect, not a 303 to HTML
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@dataclass(frozen=True)
class ConsoleCaller:
    """The signed-in user of a console request."""

    principal: Principal
    name: str
    csrf_token: str
    lang: str


async def console_caller(
    request: Request, session: SessionDep, settings: SettingsDep
) -> ConsoleCaller:
    """The live session's user; its language from `?lang=` (remembered) or the saved choice."""
    token = request.cookies.get(SESSION_COOKIE)
    now = datetime.now(UTC)
    idle = timedelta(minutes=settings.console_idle_minutes)
    found = await resolve_session(session, token, now, idle) if token else None
    if found is None:
        raise LoginRequired(request.url.path)
    row, user = found
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        await remember_language(session, user.id, asked)
        lang = asked
    else:
        lang = await user_language(session, user.id)
    principal = Principal(user.id, user.role, user.department_id)
    return ConsoleCaller(principal, user.name, row.csrf_token, lang)


ConsoleUser = Annotated[ConsoleCaller, Depends(console_caller)]


def check_csrf(expected: str, given: str | None) -> None:
    """403 unless the form carried the session's CSRF token."""
    if not given or not secrets.compare_digest(expected.encode(), given.encode()):
        raise Forbidden("missing or wrong CSRF token; reload the page and try again")


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    """HttpOnly, SameSite=Lax, scoped to the console."""
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure, path="/console"
    )
