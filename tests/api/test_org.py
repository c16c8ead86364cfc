"""Organisation basics: the first admin, logins, uniqueness of codes and emails, /users/me."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from api.org.service import ensure_first_admin
from core.db import make_sessionmaker
from core.settings import Settings
from tests.conftest import Member, Org, login


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    error: dict[str, object] = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert isinstance(error["details"], dict)
    return error


async def test_first_admin_comes_from_settings_and_can_log_in(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    headers = await login(http, settings.admin_email, settings.admin_password.get_secret_value())
    me = await http.get("/api/v1/users/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["email"] == settings.admin_email
    assert me.json()["role"] == "admin"
    assert me.json()["is_active"] is True


async def test_a_restart_with_other_admin_settings_creates_no_second_admin(
    http: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    async with make_sessionmaker(engine)() as session:
        created = await ensure_first_admin(session, "second@example.com", "second-password-1")
    assert created is None
    response = await http.post(
        "/api/v1/auth/token",
        data={"username": "second@example.com", "password": "second-password-1"},
    )
    assert response.status_code == 401


async def test_login_email_is_case_insensitive(http: httpx.AsyncClient, settings: Settings) -> None:
    password = settings.admin_password.get_secret_value()
    await login(http, settings.admin_email.upper(), password)


async def test_token_response_is_an_oauth2_bearer_token(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    response = await http.post(
        "/api/v1/auth/token",
        data={
            "username": settings.admin_email,
            "password": settings.admin_password.get_secret_value(),
        },
    )
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_ttl_minutes * 60


async def test_wrong_password_is_401_with_the_error_shape(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    response = await http.post(
        "/api/v1/auth/token", data={"username": settings.admin_email, "password": "nope-nope-1"}
    )
    error = assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    unknown = await http.post(
        "/api/v1/auth/token", data={"username": "nobody@example.com", "password": "nope-nope-1"}
    )
    # An unknown email and a wrong password look the same.
    assert assert_error(unknown, 401, "unauthorized") == error


async def test_duplicate_department_code_is_409(http: httpx.AsyncClient, admin: Member) -> None:
    code = f"dup-{uuid.uuid4().hex[:8]}"
    body = {"code": code, "name": "Quality"}
    first = await http.post("/api/v1/departments", json=body, headers=admin.headers)
    assert first.status_code == 201, first.text
    again = await http.post("/api/v1/departments", json=body, headers=admin.headers)
    error = assert_error(again, 409, "conflict")
    assert code in str(error["message"])


async def test_duplicate_user_email_is_409_whatever_its_case(
    http: httpx.AsyncClient, org: Org
) -> None:
    body = {
        "email": org.agent.email.upper(),
        "name": "Twin",
        "password": "password-123",
        "role": "agent",
        "department_id": org.department_id,
    }
    response = await http.post("/api/v1/users", json=body, headers=org.admin.headers)
    assert_error(response, 409, "conflict")


async def test_users_me_returns_the_caller(http: httpx.AsyncClient, org: Org) -> None:
    for member, role in ((org.manager, "manager"), (org.agent, "agent")):
        me = await http.get("/api/v1/users/me", headers=member.headers)
        assert me.status_code == 200
        assert me.json()["id"] == member.id
        assert me.json()["email"] == member.email
        assert me.json()["role"] == role
        assert me.json()["department_id"] == org.department_id
        assert "password" not in me.text
        assert "password_hash" not in me.json()


async def test_staff_on_internal_domains_can_be_created_and_log_in(
    http: httpx.AsyncClient, org: Org
) -> None:
    tag = uuid.uuid4().hex[:8]
    for email in (f"ops-{tag}@corp.local", f"desk-{tag}@support.internal"):
        created = await http.post(
            "/api/v1/users",
            json={
                "email": email,
                "name": "Internal",
                "password": "password-123",
                "role": "agent",
                "department_id": org.department_id,
            },
            headers=org.admin.headers,
        )
        assert created.status_code == 201, created.text
        assert created.json()["email"] == email
        assert await login(http, email, "password-123")


async def test_staff_email_syntax_is_still_checked(http: httpx.AsyncClient, org: Org) -> None:
    for email in ("two@@corp.local", "space in@corp.local", "nobody@", "x@-bad.local"):
        created = await http.post(
            "/api/v1/users",
            json={"email": email, "name": "X", "password": "password-123", "role": "agent"},
            headers=org.admin.headers,
        )
        assert created.status_code == 422, (email, created.text)
        assert created.json()["error"]["details"]["errors"][0]["field"] == "body.email"


async def test_customer_contact_on_a_special_use_domain_is_refused(
    http: httpx.AsyncClient, org: Org
) -> None:
    body = {
        "title": "Mail bounce",
        "description": "Replies never arrive",
        "category": "other",
        "channel": "staff",
        "department_id": org.department_id,
        "contact": {"name": "Wang", "email": "wang@shop.local"},
    }
    response = await http.post("/api/v1/tickets", json=body, headers=org.manager.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["errors"][0]["field"].startswith("body.contact")
