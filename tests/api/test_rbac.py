"""Who may do what: roles × endpoints × scope, as a user of the API sees it."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings
from tests.api.test_tickets_slice import new_ticket
from tests.conftest import Member, Org, login, make_department

PHONE = "13812345678"
MASKED = "138****5678"


@dataclass
class World:
    """Two departments (A and B) with their staff, and the admin."""

    admin: Member
    a: Org
    b: Org

    def who(self, name: str) -> Member:
        return {
            "admin": self.admin,
            "manager": self.a.manager,
            "agent": self.a.agent,
            "other_agent": self.a.other_agent,
            "manager_b": self.b.manager,
            "agent_b": self.b.agent,
        }[name]


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture(scope="module")
async def world(client: httpx.AsyncClient, settings: Settings) -> World:
    headers = await login(client, settings.admin_email, settings.admin_password.get_secret_value())
    admin_id = (await client.get("/api/v1/users/me", headers=headers)).json()["id"]
    admin = Member(admin_id, settings.admin_email, headers)
    a = await make_department(client, admin, "rbac-a")
    b = await make_department(client, admin, "rbac-b")
    return World(admin, a, b)


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


async def all_pages(client: httpx.AsyncClient, path: str, member: Member) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 200}
    while True:
        response = await client.get(path, params=params, headers=member.headers)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        if not response.json()["next_cursor"]:
            return items
        params["cursor"] = response.json()["next_cursor"]


# --- departments ----------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [("admin", 201), ("manager", 403), ("agent", 403)])
async def test_only_admins_create_departments(
    client: httpx.AsyncClient, world: World, role: str, status: int
) -> None:
    code = unique("d")
    response = await client.post(
        "/api/v1/departments", json={"code": code, "name": code}, headers=world.who(role).headers
    )
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("role", ["admin", "manager", "agent"])
async def test_everyone_signed_in_lists_departments(
    client: httpx.AsyncClient, world: World, role: str
) -> None:
    ids = {d["id"] for d in await all_pages(client, "/api/v1/departments", world.who(role))}
    assert {world.a.department_id, world.b.department_id} <= ids


# --- users ----------------------------------------------------------------------------------

USER_CASES = [
    ("admin", "manager", "b", 201),
    ("admin", "admin", None, 201),
    ("manager", "agent", "a", 201),
    ("manager", "agent", "b", 403),
    ("manager", "manager", "a", 403),
    ("manager", "admin", None, 403),
    ("agent", "agent", "a", 403),
]


@pytest.mark.parametrize(("caller", "role", "department", "status"), USER_CASES)
async def test_who_may_create_which_user(
    client: httpx.AsyncClient,
    world: World,
    caller: str,
    role: str,
    department: str | None,
    status: int,
) -> None:
    department_id = {"a": world.a.department_id, "b": world.b.department_id, None: None}
    email = f"{unique(role)}@example.com"
    body = {
        "email": email,
        "name": "New",
        "password": "password-123",
        "role": role,
        "department_id": department_id[department],
    }
    response = await client.post("/api/v1/users", json=body, headers=world.who(caller).headers)
    assert response.status_code == status, response.text
    if status == 201:
        assert response.json()["role"] == role
        assert response.json()["department_id"] == department_id[department]


async def test_managers_list_their_department_only(client: httpx.AsyncClient, world: World) -> None:
    users = await all_pages(client, "/api/v1/users", world.a.manager)
    assert {u["department_id"] for u in users} == {world.a.department_id}
    assert {world.a.manager.id, world.a.agent.id, world.a.other_agent.id} <= {
        u["id"] for u in users
    }


async def test_agents_list_only_themselves(client: httpx.AsyncClient, world: World) -> None:
    users = await all_pages(client, "/api/v1/users", world.a.agent)
    assert [u["id"] for u in users] == [world.a.agent.id]


async def test_admins_list_everyone(client: httpx.AsyncClient, world: World) -> None:
    ids = {u["id"] for u in await all_pages(client, "/api/v1/users", world.admin)}
    assert {world.admin.id, world.a.agent.id, world.b.manager.id, world.b.agent.id} <= ids


# --- API keys -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "agent"])
async def test_only_admins_issue_api_keys(
    client: httpx.AsyncClient, world: World, role: str
) -> None:
    response = await client.post(
        "/api/v1/api-keys", json={"name": "mine"}, headers=world.who(role).headers
    )
    assert response.status_code == 403


async def test_api_key_acts_as_its_user_and_is_stored_hashed(
    client: httpx.AsyncClient, world: World, engine: AsyncEngine
) -> None:
    issued = await client.post(
        "/api/v1/api-keys",
        json={"name": "cs-system bridge", "user_id": world.a.agent.id},
        headers=world.admin.headers,
    )
    assert issued.status_code == 201, issued.text
    key = issued.json()["key"]
    assert key.startswith("cl_")
    as_key = {"Authorization": f"Bearer {key}"}
    me = await client.get("/api/v1/users/me", headers=as_key)
    assert me.status_code == 200
    assert me.json()["id"] == world.a.agent.id
    # The key carries the agent's role, not the issuing admin's.
    denied = await client.post(
        "/api/v1/departments", json={"code": unique("k"), "name": "k"}, headers=as_key
    )
    assert denied.status_code == 403
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT * FROM api_keys WHERE id = :id"), {"id": issued.json()["id"]}
            )
        ).one()
    stored = json.dumps(list(row), default=str)
    assert key not in stored
    assert key[12:] not in stored
    assert issued.json()["prefix"] == key[: len(issued.json()["prefix"])]
    assert len(issued.json()["prefix"]) < 16


async def test_api_key_for_unknown_user_is_422(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        "/api/v1/api-keys", json={"name": "x", "user_id": 999_999}, headers=world.admin.headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["field"] == "body.user_id"


# --- SLA policies and calendars -------------------------------------------------------------


def policy_body(name: str) -> dict[str, Any]:
    target = {"first_response": "PT2H", "resolution": "PT24H"}
    return {
        "name": name,
        "targets": {"urgent": target, "normal": target, "low": target},
        "tracking": {"urgent": "PT24H", "normal": "P3D", "low": "P7D"},
    }


def calendar_body(name: str) -> dict[str, Any]:
    return {"name": name, "timezone": "Asia/Shanghai", "working_hours": "24x7", "holidays": "none"}


@pytest.mark.parametrize(
    ("role", "write", "read"), [("admin", 201, 200), ("manager", 403, 200), ("agent", 403, 403)]
)
async def test_admins_write_policies_managers_read_agents_neither(
    client: httpx.AsyncClient, world: World, role: str, write: int, read: int
) -> None:
    h = world.who(role).headers
    created = await client.post("/api/v1/sla-policies", json=policy_body(unique("p")), headers=h)
    assert created.status_code == write, created.text
    assert (await client.get("/api/v1/sla-policies", headers=h)).status_code == read
    assert (await client.get("/api/v1/sla-policies/1", headers=h)).status_code == read
    # Never the seeded default: other tests rely on its version 1.
    own = created.json()["id"] if write == 201 else 1
    new_version = await client.put(
        f"/api/v1/sla-policies/{own}", json=policy_body(unique("p")), headers=h
    )
    assert new_version.status_code == (200 if role == "admin" else 403), new_version.text
    calendar = await client.post("/api/v1/calendars", json=calendar_body(unique("c")), headers=h)
    assert calendar.status_code == write, calendar.text
    assert (await client.get("/api/v1/calendars", headers=h)).status_code == read


# --- tickets --------------------------------------------------------------------------------


@dataclass
class Tickets:
    category: str
    unassigned: dict[str, Any]
    mine: dict[str, Any]  # assigned to world.a.agent
    colleague: dict[str, Any]  # assigned to world.a.other_agent
    other_department: dict[str, Any]

    def by_name(self, name: str) -> dict[str, Any]:
        return dict(getattr(self, name))


async def open_ticket(
    client: httpx.AsyncClient, org: Org, category: str, **overrides: Any
) -> dict[str, Any]:
    body = new_ticket(department_id=org.department_id, category=category, **overrides)
    response = await client.post("/api/v1/tickets", json=body, headers=org.manager.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture(scope="module")
async def tickets(client: httpx.AsyncClient, world: World) -> Tickets:
    """Tickets that no test here changes."""
    category = unique("rbac")
    return Tickets(
        category=category,
        unassigned=await open_ticket(client, world.a, category),
        mine=await open_ticket(client, world.a, category, assignee_id=world.a.agent.id),
        colleague=await open_ticket(client, world.a, category, assignee_id=world.a.other_agent.id),
        other_department=await open_ticket(client, world.b, category),
    )


VISIBLE = {
    "admin": {"unassigned", "mine", "colleague", "other_department"},
    "manager": {"unassigned", "mine", "colleague"},
    "agent": {"unassigned", "mine"},
    "other_agent": {"unassigned", "colleague"},
    "manager_b": {"other_department"},
    "agent_b": {"other_department"},
}
TICKET_NAMES = ["unassigned", "mine", "colleague", "other_department"]


@pytest.mark.parametrize("who", VISIBLE)
async def test_ticket_visibility_by_role_and_scope(
    client: httpx.AsyncClient, world: World, tickets: Tickets, who: str
) -> None:
    h = world.who(who).headers
    listed = await client.get("/api/v1/tickets", params={"category": tickets.category}, headers=h)
    ids = {t["id"] for t in listed.json()["items"]}
    expected = {tickets.by_name(name)["id"] for name in VISIBLE[who]}
    assert ids == expected
    for name in TICKET_NAMES:
        ticket = tickets.by_name(name)
        want = 200 if name in VISIBLE[who] else 404
        for suffix in ("", "/events"):
            response = await client.get(f"/api/v1/tickets/{ticket['id']}{suffix}", headers=h)
            assert response.status_code == want, (who, name, suffix, response.text)
        by_number = await client.get(f"/api/v1/tickets/{ticket['number']}", headers=h)
        assert by_number.status_code == want


def action_bodies(world: World) -> dict[str, dict[str, Any]]:
    """A valid body for every ticket action, so only scope can refuse it."""
    return {
        "assign": {"assignee_id": world.b.agent.id},
        "comments": {"body": "hello", "public": True},
        "status": {"status": "processing", "note": "looking"},
        "priority": {"priority": "low", "reason": "not that urgent"},
        "collaborators": {"department_id": world.b.department_id},
        "reopen": {"reason": "again"},
        "survey": {"rating": "satisfied"},
    }


@pytest.mark.parametrize("who", ["manager_b", "agent_b", "other_agent"])
async def test_actions_outside_scope_are_404_and_change_nothing(
    client: httpx.AsyncClient, world: World, tickets: Tickets, who: str
) -> None:
    target = tickets.mine if who == "other_agent" else tickets.unassigned
    for action, body in action_bodies(world).items():
        response = await client.post(
            f"/api/v1/tickets/{target['id']}/{action}", json=body, headers=world.who(who).headers
        )
        assert response.status_code == 404, (action, response.text)
    events = await client.get(f"/api/v1/tickets/{target['id']}/events", headers=world.admin.headers)
    assert "commented" not in {e["type"] for e in events.json()}


@pytest.mark.parametrize("who", ["admin", "manager", "agent", "other_agent"])
async def test_phone_is_clear_only_for_admin_manager_and_assignee(
    client: httpx.AsyncClient, world: World, tickets: Tickets, who: str
) -> None:
    h = world.who(who).headers
    unassigned = (await client.get(f"/api/v1/tickets/{tickets.unassigned['id']}", headers=h)).json()
    expected = PHONE if who in {"admin", "manager"} else MASKED
    assert unassigned["contact"]["phone"] == expected
    listed = await client.get("/api/v1/tickets", params={"category": tickets.category}, headers=h)
    phones = {t["id"]: t["contact"]["phone"] for t in listed.json()["items"]}
    assert phones[tickets.unassigned["id"]] == expected
    if who == "agent":
        assert phones[tickets.mine["id"]] == PHONE
    if who == "other_agent":
        assert phones[tickets.colleague["id"]] == PHONE
    events = await client.get(f"/api/v1/tickets/{tickets.unassigned['id']}/events", headers=h)
    assert PHONE not in events.text or expected == PHONE


async def test_same_department_manager_acts_on_any_of_its_tickets(
    client: httpx.AsyncClient, world: World, tickets: Tickets
) -> None:
    ticket = await open_ticket(
        client, world.a, tickets.category, assignee_id=world.a.other_agent.id
    )
    commented = await client.post(
        f"/api/v1/tickets/{ticket['id']}/comments",
        json={"body": "manager here", "public": False},
        headers=world.a.manager.headers,
    )
    assert commented.status_code == 200, commented.text
    reassigned = await client.post(
        f"/api/v1/tickets/{ticket['id']}/assign",
        json={"assignee_id": world.a.agent.id},
        headers=world.a.manager.headers,
    )
    assert reassigned.json()["assignee_id"] == world.a.agent.id


async def test_agents_may_only_assign_to_themselves(
    client: httpx.AsyncClient, world: World, tickets: Tickets
) -> None:
    ticket = await open_ticket(client, world.a, tickets.category)
    url = f"/api/v1/tickets/{ticket['id']}/assign"
    h = world.a.agent.headers
    to_colleague = await client.post(url, json={"assignee_id": world.a.other_agent.id}, headers=h)
    assert to_colleague.status_code == 403
    assert to_colleague.json()["error"]["code"] == "forbidden"
    to_manager = await client.post(url, json={"assignee_id": world.a.manager.id}, headers=h)
    assert to_manager.status_code == 403
    taken = await client.post(url, json={"assignee_id": world.a.agent.id}, headers=h)
    assert taken.status_code == 200, taken.text
    assert taken.json()["assignee_id"] == world.a.agent.id
    assert taken.json()["contact"]["phone"] == PHONE
    # Now a colleague's: gone from the other agent's view.
    gone = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=world.a.other_agent.headers)
    assert gone.status_code == 404


async def test_agents_create_tickets_only_for_themselves(
    client: httpx.AsyncClient, world: World, tickets: Tickets
) -> None:
    body = new_ticket(category=tickets.category, assignee_id=world.a.other_agent.id)
    response = await client.post("/api/v1/tickets", json=body, headers=world.a.agent.headers)
    assert response.status_code == 403


async def test_managers_assign_only_within_their_department(
    client: httpx.AsyncClient, world: World, tickets: Tickets
) -> None:
    ticket = await open_ticket(client, world.a, tickets.category)
    response = await client.post(
        f"/api/v1/tickets/{ticket['id']}/assign",
        json={"assignee_id": world.b.agent.id, "department_id": world.b.department_id},
        headers=world.a.manager.headers,
    )
    assert response.status_code == 403


async def test_collaborating_department_manager_sees_the_ticket(
    client: httpx.AsyncClient, world: World, tickets: Tickets
) -> None:
    ticket = await open_ticket(client, world.a, tickets.category)
    url = f"/api/v1/tickets/{ticket['id']}"
    manager_b = world.b.manager.headers
    assert (await client.get(url, headers=manager_b)).status_code == 404
    added = await client.post(
        f"{url}/collaborators",
        json={"department_id": world.b.department_id, "note": "need logistics"},
        headers=world.a.manager.headers,
    )
    assert added.status_code == 200, added.text
    assert added.json()["collaborator_department_ids"] == [world.b.department_id]
    seen = await client.get(url, headers=manager_b)
    assert seen.status_code == 200
    assert (await client.get(f"{url}/events", headers=manager_b)).status_code == 200
    listed = await client.get(
        "/api/v1/tickets", params={"category": tickets.category}, headers=manager_b
    )
    assert ticket["id"] in {t["id"] for t in listed.json()["items"]}
    # Managers of uninvolved departments still do not.
    third = await make_department(client, world.admin, "rbac-c")
    assert (await client.get(url, headers=third.manager.headers)).status_code == 404
