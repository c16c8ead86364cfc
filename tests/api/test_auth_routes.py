"""Every route but the public ones answers 401 to a missing or bad credential.

The cases are generated from the app's own route table, so a route added later is covered
without touching this file.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.security import issue_access_token
from models import ApiKey, User
from tests.conftest import TEST_SECRET, Member, login

PUBLIC_PATHS = {
    "/healthz",
    "/readyz",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/openapi.json",
    "/api/v1/auth/token",
}
# The public feedback API, and the page that embeds its form on a customer's site.
PUBLIC_PREFIXES = ("/api/v1/public/", "/embed/")
BODY_METHODS = {"POST", "PUT", "PATCH"}
_PARAM = re.compile(r"{[^}]+}")


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def route_table(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every endpoint, including those behind included routers."""
    return sorted(
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if route.path is not None
        # The console signs in by session cookie: tests/console walks its routes.
        and not route.path.startswith("/console")
        for method in (route.methods or set())
        if method != "HEAD"
    )


def concrete(path: str) -> str:
    return _PARAM.sub("1", path)


async def call(
    http: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]
) -> httpx.Response:
    body: dict[str, object] | None = {} if method in BODY_METHODS else None
    return await http.request(method, concrete(path), headers=headers, json=body)


@pytest.fixture
async def revoked_key(http: httpx.AsyncClient, admin: Member, engine: AsyncEngine) -> str:
    issued = await http.post("/api/v1/api-keys", json={"name": "to revoke"}, headers=admin.headers)
    assert issued.status_code == 201, issued.text
    async with engine.begin() as conn:
        await conn.execute(
            update(ApiKey)
            .where(ApiKey.id == issued.json()["id"])
            .values(revoked_at=datetime.now(UTC))
        )
    return str(issued.json()["key"])


@pytest.fixture
async def outsider_http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client from its own address, so public rate limits of other tests stay untouched."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.77", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def bad_credentials(admin: Member, revoked_key: str) -> dict[str, dict[str, str]]:
    now = datetime.now(UTC)
    claims = {"sub": str(admin.id), "role": "admin", "iat": now, "exp": now + timedelta(hours=1)}
    expired = issue_access_token(admin.id, "admin", TEST_SECRET, ttl=timedelta(seconds=-1))
    other_secret = issue_access_token(admin.id, "admin", "another-secret-" + "x" * 32, timedelta(1))
    unsigned = jwt.encode(claims, None, algorithm="none")
    unknown_user = issue_access_token(987_654_321, "admin", TEST_SECRET, timedelta(hours=1))
    bearer = {
        "garbage token": "not-a-token",
        "expired jwt": expired,
        "jwt signed with another secret": other_secret,
        "unsigned jwt": unsigned,
        "jwt of an unknown user": unknown_user,
        "unknown api key": "cl_" + "A" * 43,
        "revoked api key": revoked_key,
    }
    cases = {"no header": {}, "basic scheme": {"Authorization": "Basic YWRtaW46YWRtaW4="}}
    cases |= {name: {"Authorization": f"Bearer {token}"} for name, token in bearer.items()}
    return cases


async def test_route_walk_finds_the_whole_api(app: FastAPI) -> None:
    routes = route_table(app)
    protected = [(m, p) for m, p in routes if not is_public(p)]
    assert len(protected) >= 15, protected
    documented = set(app.openapi()["paths"])
    assert documented <= {path for _, path in routes}
    assert ("GET", "/api/v1/tickets/{ref}") in protected
    assert ("GET", "/metrics") in protected


async def test_every_protected_route_rejects_missing_and_bad_credentials(
    app: FastAPI, http: httpx.AsyncClient, admin: Member, revoked_key: str
) -> None:
    failures = []
    for case, headers in bad_credentials(admin, revoked_key).items():
        for method, path in route_table(app):
            if is_public(path):
                continue
            response = await call(http, method, path, headers)
            error = response.json().get("error", {}) if response.content else {}
            if (
                response.status_code != 401
                or response.headers.get("www-authenticate") != "Bearer"
                or error.get("code") != "unauthorized"
                or not error.get("message")
                or not isinstance(error.get("details"), dict)
            ):
                failures.append(f"{case}: {method} {path} -> {response.status_code} {error}")
    assert not failures, "\n".join(failures)


async def test_the_admin_token_itself_is_accepted(http: httpx.AsyncClient, admin: Member) -> None:
    # Guards the test above: the same admin with a good token gets through.
    assert (await http.get("/api/v1/users/me", headers=admin.headers)).status_code == 200


async def test_a_deactivated_user_is_locked_out_at_once(
    http: httpx.AsyncClient, admin: Member, engine: AsyncEngine
) -> None:
    email = f"leaver-{uuid.uuid4().hex[:8]}@example.com"
    created = await http.post(
        "/api/v1/users",
        json={"email": email, "name": "Leaver", "password": "password-123", "role": "admin"},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    token = await login(http, email, "password-123")
    issued = await http.post(
        "/api/v1/api-keys",
        json={"name": "leaver", "user_id": created.json()["id"]},
        headers=admin.headers,
    )
    key = {"Authorization": f"Bearer {issued.json()['key']}"}
    assert (await http.get("/api/v1/users/me", headers=key)).status_code == 200
    async with engine.begin() as conn:
        await conn.execute(
            update(User).where(User.id == created.json()["id"]).values(is_active=False)
        )
    for headers in (token, key):
        assert (await http.get("/api/v1/users/me", headers=headers)).status_code == 401
    again = await http.post(
        "/api/v1/auth/token", data={"username": email, "password": "password-123"}
    )
    assert again.status_code == 401


async def test_public_routes_answer_without_a_token(
    app: FastAPI, outsider_http: httpx.AsyncClient
) -> None:
    public = [(m, p) for m, p in route_table(app) if is_public(p)]
    assert {p for _, p in public} >= PUBLIC_PATHS
    answers = {f"{m} {p}": (await call(outsider_http, m, p, {})).status_code for m, p in public}
    assert all(status != 401 for status in answers.values()), answers
    assert all(status < 500 for status in answers.values()), answers
