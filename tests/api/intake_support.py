"""Shared steps of the intake tests: categories, rules, anonymous clients, ticket reads."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from models import Notification
from tests.conftest import Member

_ips = itertools.count(1)


@asynccontextmanager
async def anonymous(app: object) -> AsyncIterator[httpx.AsyncClient]:
    """A client without credentials, from an address of its own (rate limits are per IP)."""
    n = next(_ips)
    ip = f"127.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255 or 1}"
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def make_category(
    http: httpx.AsyncClient,
    admin: Member,
    department_id: int | None,
    *,
    priority: str = "normal",
) -> str:
    code = f"cat_{uuid.uuid4().hex[:10]}"
    response = await http.post(
        "/api/v1/categories",
        json={
            "code": code,
            "name_zh": "测试类别",
            "name_en": "Test category",
            "default_priority": priority,
            "department_id": department_id,
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return code


async def make_rule(http: httpx.AsyncClient, admin: Member, **body: Any) -> dict[str, Any]:
    response = await http.post("/api/v1/routing-rules", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def submit(
    client: httpx.AsyncClient, category: str, description: str = "The lid broke", **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/public/feedback", json={"category": category, "description": description, **extra}
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def ticket(http: httpx.AsyncClient, admin: Member, ref: str) -> dict[str, Any]:
    response = await http.get(f"/api/v1/tickets/{ref}", headers=admin.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def events(http: httpx.AsyncClient, admin: Member, ref: str) -> list[dict[str, Any]]:
    response = await http.get(f"/api/v1/tickets/{ref}/events", headers=admin.headers)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


async def notifications(engine: AsyncEngine, ticket_id: int, template: str) -> list[Notification]:
    async with async_sessionmaker(engine)() as session:
        rows = await session.scalars(
            select(Notification).where(
                Notification.ticket_id == ticket_id, Notification.template == template
            )
        )
        return list(rows)
