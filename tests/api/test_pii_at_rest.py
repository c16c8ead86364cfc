"""Personal data at rest: sealed in Postgres, shown by role, searchable, logged, rotatable."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from core import pii
from core.crypto import Keyring, new_key_spec
from core.db import make_sessionmaker
from core.settings import Settings
from models import CustomerContact, Ticket
from tests.api.customer_support import Numbers, build_team, create_customer, unique
from tests.conftest import Org


@pytest.fixture(scope="module")
async def team(app: object, settings: Settings) -> Org:
    return await build_team(app, settings, "pii")


async def create_ticket(http: httpx.AsyncClient, team: Org, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Refund not received",
        "description": "Paid twice for one order; please refund the second payment.",
        "category": "product_quality",
        "contact": {"name": "Zhang San", "phone": "13812345678", "email": "zs@example.com"},
        "department_id": team.department_id,
    }
    body.update(overrides)
    response = await http.post("/api/v1/tickets", json=body, headers=team.manager.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def raw_row(engine: AsyncEngine, table: str, key: str, value: int) -> str:
    """The row as Postgres holds it, as one JSON text."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(text(f"SELECT * FROM {table} WHERE {key} = :v"), {"v": value})
        ).mappings()
        return json.dumps([dict(r) for r in row], default=str, ensure_ascii=False)


async def pii_log(http: httpx.AsyncClient, team: Org, resource: str, rid: int) -> list[Any]:
    response = await http.get(
        f"/api/v1/audit/pii-access?resource={resource}&resource_id={rid}",
        headers=team.admin.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def test_ticket_contact_is_sealed_at_rest_and_masked_by_role(
    http: httpx.AsyncClient, team: Org, engine: AsyncEngine
) -> None:
    ticket = await create_ticket(http, team)
    stored = await raw_row(engine, "tickets", "id", ticket["id"])
    for clear in ("13812345678", "zs@example.com", "Zhang San"):
        assert clear not in stored
    assert "enc:v1:" in stored

    manager = await http.get(f"/api/v1/tickets/{ticket['id']}", headers=team.manager.headers)
    assert manager.json()["contact"] == {
        "name": "Zhang San",
        "phone": "13812345678",
        "email": "zs@example.com",
    }
    # An agent of the department sees the unassigned ticket, but not its contact in clear.
    agent = await http.get(f"/api/v1/tickets/{ticket['id']}", headers=team.agent.headers)
    assert agent.status_code == 200
    assert agent.json()["contact"]["phone"] == "138****5678"
    assert agent.json()["contact"]["email"] == "z***@example.com"

    assigned = await create_ticket(http, team, assignee_id=team.agent.id)
    mine = await http.get(f"/api/v1/tickets/{assigned['id']}", headers=team.agent.headers)
    assert mine.json()["contact"]["phone"] == "13812345678"


async def test_clear_text_reads_are_logged_for_admins_only(
    http: httpx.AsyncClient, team: Org
) -> None:
    ticket = await create_ticket(http, team)
    await http.get(f"/api/v1/tickets/{ticket['id']}", headers=team.admin.headers)
    await http.get(f"/api/v1/tickets/{ticket['id']}", headers=team.agent.headers)  # masked
    entries = await pii_log(http, team, "ticket", ticket["id"])
    readers = {(e["user_id"], e["reason"]) for e in entries}
    assert (team.admin.id, "admin") in readers
    assert (team.manager.id, "department_manager") in readers  # the create response
    assert all(e["user_id"] != team.agent.id for e in entries)
    assert {"name", "phone", "email"} <= set(entries[0]["fields"])

    denied = await http.get("/api/v1/audit/pii-access", headers=team.agent.headers)
    assert denied.status_code == 403
    denied = await http.get("/api/v1/audit/pii-access", headers=team.manager.headers)
    assert denied.status_code == 403


async def test_customer_contacts_are_sealed_searchable_and_masked(
    http: httpx.AsyncClient, team: Org, engine: AsyncEngine
) -> None:
    phone = Numbers()()
    email = f"{unique('buyer')}@example.com"
    customer = await create_customer(
        http, team.manager, contacts=[{"name": "李四", "phone": phone, "email": email}]
    )
    stored = await raw_row(engine, "customer_contacts", "customer_id", customer["id"])
    for clear in (phone, email, "李四"):
        assert clear not in stored
    assert "phone_normalized" not in stored
    assert "email_normalized" not in stored

    spelled = f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    found = await http.get(
        "/api/v1/customers", params={"phone": spelled}, headers=team.manager.headers
    )
    assert [c["id"] for c in found.json()["items"]] == [customer["id"]]
    assert found.json()["items"][0]["contacts"][0]["email"] == email

    # An agent working a ticket of the customer reads it, masked.
    await create_ticket(http, team, customer_id=customer["id"], assignee_id=team.agent.id)
    seen = await http.get(f"/api/v1/customers/{customer['id']}", headers=team.agent.headers)
    assert seen.status_code == 200, seen.text
    contact = seen.json()["contacts"][0]
    assert contact["phone"] == f"{phone[:3]}****{phone[-4:]}"
    assert contact["email"] == f"{email[0]}***@example.com"
    assert contact["name"] == "李四"

    entries = await pii_log(http, team, "customer", customer["id"])
    assert {e["user_id"] for e in entries} == {team.manager.id}
    assert entries[0]["reason"] == "owner"


async def test_import_finds_an_existing_customer_by_phone(
    http: httpx.AsyncClient, team: Org
) -> None:
    phone = Numbers()()
    existing = await create_customer(http, team.manager, contacts=[{"phone": phone}])
    content = (
        "name,type,region,phone\n"
        f"{unique('导入公司')},b2b,杭州,+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}\n"
    ).encode()
    response = await http.post(
        "/api/v1/customers/import",
        files={"file": ("customers.csv", content)},
        headers=team.manager.headers,
    )
    assert response.status_code == 200, response.text
    (duplicate,) = response.json()["duplicates"]
    assert duplicate["matches"][0]["code"] == existing["code"]
    assert duplicate["matches"][0]["reason"] == "phone"


def kids(sealed: list[str]) -> set[str]:
    return {Keyring.kid_of(base64.b64decode(v.removeprefix(pii.PREFIX))) for v in sealed}


async def stored_values(engine: AsyncEngine) -> list[str]:
    """Every contact name, phone and email as stored, tickets and customers alike."""
    values: list[str] = []
    async with engine.connect() as conn:
        for row in await conn.execute(
            select(CustomerContact.name, CustomerContact.phone, CustomerContact.email)
        ):
            values += [v for v in row if v]
        for (contact,) in await conn.execute(select(Ticket.contact)):
            values += [v for k, v in (contact or {}).items() if k in pii.CONTACT_FIELDS and v]
    return values


async def test_key_rotation_re_encrypts_everything_and_keeps_it_searchable(
    http: httpx.AsyncClient, team: Org, engine: AsyncEngine, settings: Settings
) -> None:
    phone, legacy_phone = Numbers()(), Numbers()()
    customer = await create_customer(http, team.manager, contacts=[{"phone": phone}])
    ticket = await create_ticket(http, team)
    legacy = await create_customer(http, team.manager, contacts=[{"name": "王五"}])
    async with engine.begin() as conn:  # a row from before encryption: clear, no index
        await conn.execute(
            text("UPDATE customer_contacts SET phone = :p WHERE customer_id = :c"),
            {"p": legacy_phone, "c": legacy["id"]},
        )

    old = settings.encryption_keys.get_secret_value()
    blind = settings.blind_index_key.get_secret_value()
    new = new_key_spec(unique("rotated"))
    previous = pii.use_keyring(Keyring.from_strings(f"{new},{old}", blind))
    try:
        await pii.rotate(make_sessionmaker(engine), batch=50)
        stored = await stored_values(engine)
        assert all(v.startswith(pii.PREFIX) for v in stored)
        assert kids(stored) == {new.partition(":")[0]}

        for number, owner in ((phone, customer), (legacy_phone, legacy)):
            found = await http.get(
                "/api/v1/customers", params={"phone": number}, headers=team.manager.headers
            )
            assert [c["id"] for c in found.json()["items"]] == [owner["id"]]
            assert found.json()["items"][0]["contacts"][0]["phone"] == number
        read = await http.get(f"/api/v1/tickets/{ticket['id']}", headers=team.manager.headers)
        assert read.json()["contact"]["email"] == "zs@example.com"
    finally:  # back to the session's key, so later tests read everything
        pii.use_keyring(Keyring.from_strings(f"{old},{new}", blind))
        await pii.rotate(make_sessionmaker(engine))
        pii.use_keyring(previous)


async def test_notification_addresses_and_secrets_are_sealed_and_rotated(
    http: httpx.AsyncClient, team: Org, engine: AsyncEngine, settings: Settings
) -> None:
    robot = "https://oapi.dingtalk.com/robot/send?access_token=" + unique("tok")
    body = {
        "channels": ["in_app", "sms", "dingtalk"],
        "phone": "138 0013 8000",
        "dingtalk_webhook_url": robot,
        "dingtalk_secret": "SEC" + unique("dingtalk-secret"),
    }
    saved = await http.put(
        "/api/v1/users/me/notification-preferences", json=body, headers=team.agent.headers
    )
    assert saved.status_code == 200, saved.text
    assert (saved.json()["phone"], saved.json()["dingtalk_webhook_url"]) == (
        "13800138000",
        robot,
    )
    hook = await http.post(
        "/api/v1/webhooks",
        # Inactive: later tests must not see deliveries to a host that does not exist.
        json={"url": "https://hooks.example.com/in", "events": ["*"], "active": False},
        headers=team.admin.headers,
    )
    assert hook.status_code == 201, hook.text

    async def stored() -> list[str]:
        async with engine.connect() as conn:
            prefs = (
                await conn.execute(
                    text(
                        "SELECT phone, dingtalk_webhook_url, dingtalk_secret "
                        "FROM notification_preferences WHERE user_id = :u"
                    ),
                    {"u": team.agent.id},
                )
            ).one()
            secret = await conn.scalar(
                text("SELECT secret FROM webhook_subscriptions WHERE id = :i"),
                {"i": hook.json()["id"]},
            )
        return [*prefs, secret]

    sealed = await stored()
    assert all(v.startswith(pii.PREFIX) for v in sealed)
    clear = " ".join(sealed)
    assert "13800138000" not in clear
    assert "access_token" not in clear
    assert hook.json()["secret"] not in clear

    # A row written before sealing: clear values still work and rotation seals them.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE notification_preferences SET phone = '13900139000' WHERE user_id = :u"),
            {"u": team.agent.id},
        )
    shown = await http.get("/api/v1/users/me/notification-preferences", headers=team.agent.headers)
    assert shown.json()["phone"] == "13900139000"
    report = await pii.rotate(make_sessionmaker(engine))
    assert report.preferences >= 1
    assert all(v.startswith(pii.PREFIX) for v in await stored())
    shown = await http.get("/api/v1/users/me/notification-preferences", headers=team.agent.headers)
    assert shown.json()["phone"] == "13900139000"
