"""Login lockout, security headers, staff CORS, password policy and JWT key rotation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.security import issue_access_token
from core.settings import Settings
from tests.conftest import TEST_SECRET, Member, Org

TOKEN = "/api/v1/auth/token"
STAFF_ORIGIN = "https://desk.example.com"


@asynccontextmanager
async def client_for(
    settings: Settings, engine: AsyncEngine, temporal: WorkflowEnvironment, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a second API process on the same database, with other settings."""
    application = create_app(
        settings.model_copy(update=overrides), engine=engine, temporal=temporal.client
    )
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def new_agent(http: httpx.AsyncClient, org: Org) -> str:
    email = f"agent-{uuid.uuid4().hex[:8]}@example.com"
    body = {
        "email": email,
        "name": "agent",
        "password": "password-123",
        "role": "agent",
        "department_id": org.department_id,
    }
    created = await http.post("/api/v1/users", json=body, headers=org.admin.headers)
    assert created.status_code == 201, created.text
    return email


async def attempt(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(TOKEN, data={"username": email, "password": password})


async def test_repeated_failed_logins_lock_the_account_across_api_processes_until_the_window_ends(
    http: httpx.AsyncClient,
    org: Org,
    settings: Settings,
    engine: AsyncEngine,
    temporal_env: WorkflowEnvironment,
) -> None:
    email = await new_agent(http, org)
    guard = {"login_max_failures": 3, "login_lockout_seconds": 2.0}
    async with (
        client_for(settings, engine, temporal_env, **guard) as first,
        client_for(settings, engine, temporal_env, **guard) as second,
    ):
        for _ in range(3):
            assert (await attempt(first, email, "wrong-password-1")).status_code == 401
        # The other process sees the same failures: even the right password is refused.
        locked = await attempt(second, email, "password-123")
        assert locked.status_code == 429
        assert locked.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(locked.headers["Retry-After"]) <= 2
        # Another email from the same address is not locked.
        assert (await attempt(second, org.agent.email, "password-123")).status_code == 200
        await asyncio.sleep(2.2)  # the configured lockout window
        assert (await attempt(second, email, "password-123")).status_code == 200
        # A success forgives: one more failure does not lock again.
        assert (await attempt(first, email, "wrong-password-1")).status_code == 401
        assert (await attempt(first, email, "password-123")).status_code == 200


async def test_responses_carry_security_headers_and_json_gets_a_strict_csp(
    http: httpx.AsyncClient, admin: Member
) -> None:
    for response in (
        await http.get("/api/v1/users/me", headers=admin.headers),
        await http.get("/api/v1/users/me"),
        await http.get("/healthz"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert "strict-transport-security" not in response.headers


async def test_the_embeddable_form_may_be_framed_but_other_pages_may_not(
    http: httpx.AsyncClient,
) -> None:
    embed = await http.get("/embed/feedback")
    assert embed.status_code == 200
    assert "x-frame-options" not in embed.headers
    assert "frame-ancestors" in embed.headers["content-security-policy"]
    assert embed.headers["x-content-type-options"] == "nosniff"


async def test_production_adds_strict_transport_security(
    settings: Settings, engine: AsyncEngine, temporal_env: WorkflowEnvironment
) -> None:
    async with client_for(settings, engine, temporal_env, env="production") as client:
        response = await client.get("/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=")


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type",
    }


async def test_cors_preflight_is_allowed_only_for_configured_staff_origins(
    http: httpx.AsyncClient,
    settings: Settings,
    engine: AsyncEngine,
    temporal_env: WorkflowEnvironment,
) -> None:
    closed = await http.options("/api/v1/tickets", headers=preflight(STAFF_ORIGIN))
    assert "access-control-allow-origin" not in closed.headers
    async with client_for(settings, engine, temporal_env, cors_origins=[STAFF_ORIGIN]) as client:
        allowed = await client.options("/api/v1/tickets", headers=preflight(STAFF_ORIGIN))
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == STAFF_ORIGIN
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        other = await client.options("/api/v1/tickets", headers=preflight("https://evil.example"))
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers


async def test_weak_passwords_are_refused_naming_the_password_field(
    http: httpx.AsyncClient, org: Org
) -> None:
    email = f"weak-{uuid.uuid4().hex[:8]}@example.com"
    for password in ("short-1", "abcdefghijklmnop", "123456789012345", email):
        body = {
            "email": email,
            "name": "weak",
            "password": password,
            "role": "agent",
            "department_id": org.department_id,
        }
        response = await http.post("/api/v1/users", json=body, headers=org.admin.headers)
        assert response.status_code == 422, password
        fields = [e["field"] for e in response.json()["error"]["details"]["errors"]]
        assert fields == ["body.password"], password


async def test_tokens_signed_with_a_rotated_out_key_verify_until_they_expire(
    http: httpx.AsyncClient,
    admin: Member,
    settings: Settings,
    engine: AsyncEngine,
    temporal_env: WorkflowEnvironment,
) -> None:
    old_token = issue_access_token(admin.id, "admin", TEST_SECRET, timedelta(minutes=5))
    expired = issue_access_token(admin.id, "admin", TEST_SECRET, timedelta(seconds=-1))
    new_key = SecretStr("rotated-secret-key-with-at-least-32-characters")
    rotated = {"secret_key": new_key, "previous_secret_keys": [SecretStr(TEST_SECRET)]}
    async with client_for(settings, engine, temporal_env, **rotated) as client:
        me = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {old_token}"})
        assert me.status_code == 200
        assert me.json()["id"] == admin.id
        gone = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {expired}"})
        assert gone.status_code == 401
        password = settings.admin_password.get_secret_value()
        fresh = (await attempt(client, admin.email, password)).json()["access_token"]
    # New tokens are signed with the new key only: the old configuration refuses them.
    refused = await http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {fresh}"})
    assert refused.status_code == 401
    async with client_for(settings, engine, temporal_env, secret_key=new_key) as client:
        dropped = {"Authorization": f"Bearer {old_token}"}
        assert (await client.get("/api/v1/users/me", headers=dropped)).status_code == 401
