"""Shared helpers for the customer API tests: unique phones and names, a create shortcut."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx

from core.settings import Settings
from tests.conftest import Member, Org, login, make_department


class Numbers:
    """Valid, unique mainland mobiles for one test (the database outlives each test)."""

    def __init__(self) -> None:
        self.base = f"139{random.randrange(10_000):04d}"
        self.next = 0

    def __call__(self) -> str:
        self.next += 1
        return f"{self.base}{self.next:04d}"


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


async def create_customer(http: httpx.AsyncClient, who: Member, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": unique("上海示例科技"),
        "type": "b2b",
        "industry": "制造业",
        "region": "上海",
        "tier": "potential",
        "tags": ["重点客户"],
        "contacts": [
            {"name": "张三", "title": "采购经理", "phone": "13812345678", "email": "zs@x.com"}
        ],
    }
    body.update(overrides)
    response = await http.post("/api/v1/customers", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def build_team(app: object, settings: Settings, label: str = "cust") -> Org:
    """A department with manager and agents, shared by a module's tests (logins are slow)."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        password = settings.admin_password.get_secret_value()
        headers = await login(client, settings.admin_email, password)
        me = await client.get("/api/v1/users/me", headers=headers)
        admin = Member(me.json()["id"], settings.admin_email, headers)
        return await make_department(client, admin, label)
