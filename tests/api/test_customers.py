"""Customers over HTTP: create, codes, scoping per role, masking, search, lifecycle, approval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from tests.api.customer_support import Numbers, build_team, create_customer, unique
from tests.conftest import Org, make_department


@pytest.fixture(scope="module")
async def team(app: object, settings: Settings) -> Org:
    return await build_team(app, settings)


async def test_create_assigns_daily_code_owner_department_and_primary_contact(
    http: httpx.AsyncClient, team: Org, settings: Settings
) -> None:
    first = await create_customer(http, team.manager)
    second = await create_customer(http, team.manager, contacts=[])
    today = datetime.now(ZoneInfo(settings.timezone)).strftime("%Y%m%d")
    assert first["code"].startswith(f"CUS{today}")
    assert int(second["code"][11:]) == int(first["code"][11:]) + 1
    assert len(first["code"]) >= 14
    assert first["owner_id"] == team.manager.id
    assert first["department_id"] == team.department_id
    assert first["approval"] == "approved"
    assert first["stage"] == "lead"
    assert first["contacts"][0]["primary"] is True
    assert first["contacts"][0]["phone"] == "13812345678"
    fetched = await http.get(f"/api/v1/customers/{first['id']}", headers=team.manager.headers)
    assert fetched.json()["tags"] == ["重点客户"]


async def test_invalid_phone_and_two_primaries_are_rejected_with_field_paths(
    http: httpx.AsyncClient, team: Org
) -> None:
    bad_phone = await http.post(
        "/api/v1/customers",
        json={"name": "x", "contacts": [{"name": "a", "phone": "12345"}]},
        headers=team.manager.headers,
    )
    assert bad_phone.status_code == 422
    fields = [e["field"] for e in bad_phone.json()["error"]["details"]["errors"]]
    assert fields == ["body.contacts.0.phone"]
    two_primaries = await http.post(
        "/api/v1/customers",
        json={
            "name": "x",
            "contacts": [{"name": "a", "primary": True}, {"name": "b", "primary": True}],
        },
        headers=team.manager.headers,
    )
    assert two_primaries.status_code == 422


async def test_same_idempotency_key_yields_one_customer(http: httpx.AsyncClient, team: Org) -> None:
    headers = {**team.manager.headers, "Idempotency-Key": unique("cust")}
    body = {"name": unique("幂等客户")}
    first = await http.post("/api/v1/customers", json=body, headers=headers)
    again = await http.post("/api/v1/customers", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other = await http.post("/api/v1/customers", json={"name": "other"}, headers=headers)
    assert other.status_code == 409


async def test_scoping_agent_own_manager_department_admin_all(
    http: httpx.AsyncClient, team: Org
) -> None:
    mine = await create_customer(http, team.agent)
    theirs = await create_customer(http, team.other_agent)
    other = await make_department(http, team.admin, "elsewhere")
    url = f"/api/v1/customers/{mine['id']}"
    assert (await http.get(url, headers=team.agent.headers)).status_code == 200
    assert (await http.get(url, headers=team.other_agent.headers)).status_code == 404
    assert (await http.get(url, headers=team.manager.headers)).status_code == 200
    assert (await http.get(url, headers=other.manager.headers)).status_code == 404
    assert (await http.get(url, headers=team.admin.headers)).status_code == 200
    patch = {"industry": "物流"}
    assert (await http.patch(url, json=patch, headers=team.other_agent.headers)).status_code == 404
    assert (await http.patch(url, json=patch, headers=other.manager.headers)).status_code == 404
    assert (await http.patch(url, json=patch, headers=team.agent.headers)).status_code == 200

    listed = await http.get("/api/v1/customers?limit=200", headers=team.agent.headers)
    ids = {c["id"] for c in listed.json()["items"]}
    assert mine["id"] in ids
    assert theirs["id"] not in ids
    by_manager = await http.get("/api/v1/customers?limit=200", headers=team.manager.headers)
    assert {mine["id"], theirs["id"]} <= {c["id"] for c in by_manager.json()["items"]}
    by_other = await http.get("/api/v1/customers?limit=200", headers=other.manager.headers)
    assert not {mine["id"], theirs["id"]} & {c["id"] for c in by_other.json()["items"]}


async def test_agent_may_not_create_for_someone_else(http: httpx.AsyncClient, team: Org) -> None:
    response = await http.post(
        "/api/v1/customers",
        json={"name": "x", "owner_id": team.other_agent.id},
        headers=team.agent.headers,
    )
    assert response.status_code == 403


async def test_ticket_assignee_reads_linked_customer_with_masked_contacts(
    http: httpx.AsyncClient, team: Org
) -> None:
    customer = await create_customer(http, team.manager)
    ticket = await http.post(
        "/api/v1/tickets",
        json={
            "title": "Late delivery",
            "description": "The order is a week late.",
            "category": unique("cat"),
            "channel": "staff",
            "customer_id": customer["id"],
            "department_id": team.department_id,
            "assignee_id": team.agent.id,
        },
        headers=team.manager.headers,
    )
    assert ticket.status_code == 201, ticket.text
    seen = await http.get(f"/api/v1/customers/{customer['id']}", headers=team.agent.headers)
    assert seen.status_code == 200
    contact = seen.json()["contacts"][0]
    assert contact["phone"] == "138****5678"
    assert contact["email"] == "z***@x.com"
    edit = await http.patch(
        f"/api/v1/customers/{customer['id']}", json={"tier": "core"}, headers=team.agent.headers
    )
    assert edit.status_code == 403
    tickets = await http.get(
        f"/api/v1/customers/{customer['id']}/tickets", headers=team.manager.headers
    )
    assert [t["id"] for t in tickets.json()["items"]] == [ticket.json()["id"]]
    owner_view = await http.get(f"/api/v1/customers/{customer['id']}", headers=team.manager.headers)
    assert owner_view.json()["contacts"][0]["phone"] == "13812345678"


async def test_search_by_code_name_phone_tag_tier_stage_owner(
    http: httpx.AsyncClient, team: Org
) -> None:
    phone = Numbers()()
    name = unique("杭州云栖贸易")
    target = await create_customer(
        http,
        team.manager,
        name=name,
        tier="core",
        tags=[unique("tag")],
        contacts=[{"name": "李四", "phone": f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}"}],
    )
    decoy = await create_customer(http, team.manager)

    async def found(query: str) -> list[int]:
        response = await http.get(f"/api/v1/customers?{query}", headers=team.manager.headers)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    assert await found(f"q={target['code']}") == [target["id"]]
    assert await found(f"q={name[2:8]}") == [target["id"]]
    assert await found(f"phone={phone}") == [target["id"]]
    assert await found(f"tag={target['tags'][0]}") == [target["id"]]
    core = await found(f"tier=core&owner_id={team.manager.id}&stage=lead")
    assert target["id"] in core
    assert decoy["id"] not in core
    bad = await http.get("/api/v1/customers?phone=12", headers=team.manager.headers)
    assert bad.status_code == 422


async def test_stage_follows_lifecycle(http: httpx.AsyncClient, team: Org) -> None:
    customer = await create_customer(http, team.manager)
    url = f"/api/v1/customers/{customer['id']}"
    h = team.manager.headers
    skip = await http.patch(url, json={"stage": "deal"}, headers=h)
    assert skip.status_code == 409
    for stage in ("intention", "deal", "lost", "lead"):
        moved = await http.patch(url, json={"stage": stage}, headers=h)
        assert moved.status_code == 200, moved.text
        assert moved.json()["stage"] == stage


async def test_interactions_update_last_contact_and_list_newest_first(
    http: httpx.AsyncClient, team: Org
) -> None:
    customer = await create_customer(http, team.agent)
    url = f"/api/v1/customers/{customer['id']}/interactions"
    at = datetime(2024, 5, 10, 9, 30, tzinfo=UTC)
    headers = {**team.agent.headers, "Idempotency-Key": unique("touch")}
    body = {
        "kind": "visit",
        "at": at.isoformat(),
        "summary": "Visited the plant",
        "customer_feedback": "Wants a quote",
        "next_step": "Send quote",
        "next_follow_up_at": (at + timedelta(days=7)).isoformat(),
    }
    first = await http.post(url, json=body, headers=headers)
    again = await http.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    later = await http.post(
        url, json={"kind": "call", "summary": "Called back"}, headers=team.agent.headers
    )
    assert later.status_code == 201
    listed = await http.get(url, headers=team.agent.headers)
    assert [i["kind"] for i in listed.json()["items"]] == ["call", "visit"]
    fetched = await http.get(f"/api/v1/customers/{customer['id']}", headers=team.agent.headers)
    assert fetched.json()["last_contact_at"] == later.json()["at"]
    bad = await http.post(url, json={"kind": "fax", "summary": "x"}, headers=team.agent.headers)
    assert bad.status_code == 422


async def test_agent_customer_waits_for_department_manager_approval(
    http: httpx.AsyncClient, team: Org
) -> None:
    customer = await create_customer(http, team.agent)
    assert customer["approval"] == "pending"
    url = f"/api/v1/customers/{customer['id']}/approve"
    assert (
        await http.post(url, json={"decision": "approve"}, headers=team.agent.headers)
    ).status_code == 403
    other = await make_department(http, team.admin, "approvers")
    assert (
        await http.post(url, json={"decision": "approve"}, headers=other.manager.headers)
    ).status_code == 404
    no_reason = await http.post(url, json={"decision": "reject"}, headers=team.manager.headers)
    assert no_reason.status_code == 422
    rejected = await http.post(
        url,
        json={"decision": "reject", "reason": "duplicate of an existing account"},
        headers=team.manager.headers,
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["approval"] == "rejected"
    assert rejected.json()["approval_reason"] == "duplicate of an existing account"
    again = await http.post(url, json={"decision": "approve"}, headers=team.manager.headers)
    assert again.status_code == 409


async def test_decision_still_lands_when_the_approval_workflow_is_gone(
    http: httpx.AsyncClient, team: Org, temporal_env: WorkflowEnvironment
) -> None:
    customer = await create_customer(http, team.agent)
    handle = temporal_env.client.get_workflow_handle(f"customer-approval-{customer['id']}")
    await handle.terminate(reason="lost by ops")
    approved = await http.post(
        f"/api/v1/customers/{customer['id']}/approve",
        json={"decision": "approve"},
        headers=team.manager.headers,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["approval"] == "approved"
    events = await http.get(
        f"/api/v1/customers/{customer['id']}/events", headers=team.manager.headers
    )
    assert [e["type"] for e in events.json()] == ["created", "approved"]
