"""Console sessions: login form, CSRF on every post, logout, idle expiry, lockout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import make_sessionmaker
from models import ConsoleSession
from tests.conftest import Org
from tests.console.support import console_login, csrf_of


async def test_login_sets_an_httponly_lax_cookie_and_opens_the_queue(
    http: httpx.AsyncClient, org: Org
) -> None:
    response = await console_login(http, org.agent.email, "password-123")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("closedloop_console=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    home = await http.get("/console/")
    assert home.status_code == 200
    assert "我的队列" in home.text  # Chinese by default


async def test_wrong_password_shows_the_form_again_with_401(
    http: httpx.AsyncClient, org: Org
) -> None:
    response = await console_login(http, org.agent.email, "not-the-password")
    assert response.status_code == 401
    assert "邮箱或密码错误" in response.text
    assert (await http.get("/console/")).status_code == 303


async def test_login_post_without_csrf_token_is_rejected(http: httpx.AsyncClient, org: Org) -> None:
    await http.get("/console/login")
    response = await http.post(
        "/console/login", data={"username": org.agent.email, "password": "password-123"}
    )
    assert response.status_code == 403
    assert (await http.get("/console/")).status_code == 303


async def test_status_post_without_csrf_token_is_rejected(
    http: httpx.AsyncClient, org: Org
) -> None:
    created = await http.post(
        "/api/v1/tickets",
        json={
            "title": "Printer jams",
            "description": "Every second page jams.",
            "category": "product_quality",
            "priority": "normal",
            "channel": "staff",
            "department_id": org.department_id,
        },
        headers=org.manager.headers,
    )
    assert created.status_code == 201, created.text
    ticket_id = created.json()["id"]
    await console_login(http, org.manager.email, "password-123")
    page = await http.get(f"/console/tickets/{ticket_id}")
    assert page.status_code == 200
    form = {"status": "processing", "note": "looking", "idempotency_key": "k1"}
    refused = await http.post(f"/console/tickets/{ticket_id}/status", data=form)
    assert refused.status_code == 403
    wrong = await http.post(
        f"/console/tickets/{ticket_id}/status", data={**form, "csrf_token": "forged"}
    )
    assert wrong.status_code == 403
    still = await http.get(f"/api/v1/tickets/{ticket_id}", headers=org.manager.headers)
    assert still.json()["status"] == "pending"
    accepted = await http.post(
        f"/console/tickets/{ticket_id}/status", data={**form, "csrf_token": csrf_of(page.text)}
    )
    assert accepted.status_code == 303
    moved = await http.get(f"/api/v1/tickets/{ticket_id}", headers=org.manager.headers)
    assert moved.json()["status"] == "processing"


async def test_idle_session_expires_and_sends_to_login(
    http: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> None:
    await console_login(http, org.agent.email, "password-123")
    assert (await http.get("/console/")).status_code == 200
    long_ago = datetime.now(UTC) - timedelta(hours=5)  # beyond the 30-minute default
    async with make_sessionmaker(engine)() as session:
        await session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.user_id == org.agent.id)
            .values(last_seen_at=long_ago)
        )
        await session.commit()
    expired = await http.get("/console/tickets")
    assert expired.status_code == 303
    assert expired.headers["location"].startswith("/console/login?next=")


async def test_logout_ends_the_session_server_side(http: httpx.AsyncClient, org: Org) -> None:
    await console_login(http, org.agent.email, "password-123")
    home = await http.get("/console/")
    token = http.cookies.get("closedloop_console")
    assert token
    out = await http.post("/console/logout", data={"csrf_token": csrf_of(home.text)})
    assert out.status_code == 303
    http.cookies.set("closedloop_console", token, path="/console")  # a stolen copy
    assert (await http.get("/console/")).status_code == 303


async def test_every_console_page_and_action_needs_a_session(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    routes = [
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if route.path is not None and route.path.startswith("/console/")
        for method in route.methods or set()
        if route.path != "/console/login"
    ]
    assert len(routes) >= 6, routes
    for method, path in routes:
        response = await http.request(method, path.replace("{ref}", "1"))
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"].startswith("/console/login?next=")
