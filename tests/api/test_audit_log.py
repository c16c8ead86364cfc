"""Admin actions land in the append-only audit log, which only admins may read."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.customer_support import create_customer
from tests.api.intake_support import make_category, make_rule
from tests.api.test_sla_admin import policy_body
from tests.conftest import Member, Org

LOG = "/api/v1/audit/log"


async def entries(http: httpx.AsyncClient, admin: Member, action: str) -> list[dict[str, Any]]:
    response = await http.get(LOG, params={"action": action, "limit": 200}, headers=admin.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    assert all(item["action"] == action for item in items)
    return items


async def logged(http: httpx.AsyncClient, admin: Member, action: str, resource_id: Any) -> dict:
    """The one entry of `action` on `resource_id`, by this admin."""
    found = [e for e in await entries(http, admin, action) if e["resource_id"] == str(resource_id)]
    assert len(found) == 1, (action, resource_id)
    assert found[0]["actor_id"] == admin.id
    return found[0]


def label() -> str:
    return uuid.uuid4().hex[:8]


async def post(http: httpx.AsyncClient, admin: Member, path: str, body: Any) -> dict[str, Any]:
    response = await http.post(f"/api/v1{path}", json=body, headers=admin.headers)
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


async def test_organisation_and_key_changes_are_audited(http: httpx.AsyncClient, org: Org) -> None:
    admin = org.admin
    dept = await post(http, admin, "/departments", {"code": f"a-{label()}", "name": "Audit"})
    assert (await logged(http, admin, "department.create", dept["id"]))["data"]["code"] == dept[
        "code"
    ]
    # The org fixture's users were created by this admin too.
    user = await logged(http, admin, "user.create", org.agent.id)
    assert user["data"]["email"] == org.agent.email
    assert user["data"]["role"] == "agent"
    assert "password" not in str(user["data"])
    key = await post(http, admin, "/api-keys", {"name": "audit", "user_id": org.agent.id})
    entry = await logged(http, admin, "api_key.create", key["id"])
    assert entry["data"]["user_id"] == org.agent.id
    assert key["key"] not in str(entry)


async def test_sla_and_calendar_changes_are_audited(http: httpx.AsyncClient, admin: Member) -> None:
    hours = {"mon": [["09:00", "18:00"]]}
    cal = await post(
        http,
        admin,
        "/calendars",
        {"name": f"cal-{label()}", "timezone": "Asia/Shanghai", "working_hours": hours},
    )
    await logged(http, admin, "calendar.create", cal["id"])
    name = f"policy-{label()}"
    policy = await post(http, admin, "/sla-policies", policy_body(name))
    assert (await logged(http, admin, "sla_policy.create", policy["id"]))["data"]["version"] == 1
    second = await http.put(
        f"/api/v1/sla-policies/{policy['id']}", json=policy_body(name), headers=admin.headers
    )
    assert second.status_code == 200, second.text
    versions = await logged(http, admin, "sla_policy.new_version", policy["id"])
    assert versions["data"]["version"] == 2


async def test_category_routing_and_webhook_writes_are_audited(
    http: httpx.AsyncClient, org: Org
) -> None:
    admin = org.admin
    code = await make_category(http, admin, org.department_id)
    [created] = [
        e for e in await entries(http, admin, "category.create") if e["data"]["code"] == code
    ]
    patched = await http.patch(
        f"/api/v1/categories/{code}", json={"name_en": "Renamed"}, headers=admin.headers
    )
    assert patched.status_code == 200
    changed = await logged(http, admin, "category.update", created["resource_id"])
    assert changed["data"] == {"name_en": "Renamed", "via_api_key": False}
    rule = await make_rule(http, admin, category=code, department_id=org.department_id)
    await logged(http, admin, "routing_rule.create", rule["id"])
    moved = await http.patch(
        f"/api/v1/routing-rules/{rule['id']}", json={"position": 7}, headers=admin.headers
    )
    assert moved.status_code == 200
    assert (await logged(http, admin, "routing_rule.update", rule["id"]))["data"]["position"] == 7
    gone = await http.delete(f"/api/v1/routing-rules/{rule['id']}", headers=admin.headers)
    assert gone.status_code == 204
    await logged(http, admin, "routing_rule.delete", rule["id"])
    hook = await post(
        http, admin, "/webhooks", {"url": "https://hooks.example.test/in", "events": ["closed"]}
    )
    assert hook["secret"] not in str(await logged(http, admin, "webhook.create", hook["id"]))
    off = await http.delete(f"/api/v1/webhooks/{hook['id']}", headers=admin.headers)
    assert off.status_code == 204
    await logged(http, admin, "webhook.deactivate", hook["id"])


async def test_customer_merge_and_import_are_audited(
    http: httpx.AsyncClient, admin: Member
) -> None:
    target = await create_customer(http, admin, contacts=[])
    source = await create_customer(http, admin, contacts=[])
    body = {"target_id": target["id"], "source_ids": [source["id"]]}
    await post(http, admin, "/customers/merge", body)
    merged = await logged(http, admin, "customer.merge", target["id"])
    assert merged["data"]["source_ids"] == [source["id"]]
    before = {e["id"] for e in await entries(http, admin, "customer.import")}
    csv = f"name\nimported-{label()}\n".encode()
    dry = await http.post(
        "/api/v1/customers/import?dry_run=true",
        files={"file": ("c.csv", csv)},
        headers=admin.headers,
    )
    assert dry.status_code == 200, dry.text
    assert {e["id"] for e in await entries(http, admin, "customer.import")} == before
    real = await http.post(
        "/api/v1/customers/import", files={"file": ("c.csv", csv)}, headers=admin.headers
    )
    assert real.status_code == 200, real.text
    [entry] = [e for e in await entries(http, admin, "customer.import") if e["id"] not in before]
    assert entry["data"]["created"] == 1
    assert entry["actor_id"] == admin.id


async def test_only_admins_read_the_log_and_pages_follow_the_cursor(
    http: httpx.AsyncClient, org: Org
) -> None:
    for who in (org.manager, org.agent):
        assert (await http.get(LOG, headers=who.headers)).status_code == 403
    assert (await http.get(LOG)).status_code == 401
    first = await http.get(LOG, params={"limit": 2}, headers=org.admin.headers)
    page = first.json()
    assert len(page["items"]) == 2
    assert page["items"][0]["id"] > page["items"][1]["id"]  # newest first
    second = await http.get(
        LOG, params={"limit": 2, "cursor": page["next_cursor"]}, headers=org.admin.headers
    )
    assert second.json()["items"][0]["id"] < page["items"][1]["id"]


async def test_the_log_refuses_updates_and_deletes(engine: AsyncEngine, org: Org) -> None:
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text(statement))
