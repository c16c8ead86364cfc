"""Categories and routing rules over HTTP, and auto-dispatch as a step of the ticket workflow."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.intake_support import (
    anonymous,
    events,
    make_category,
    make_rule,
    notifications,
    submit,
    ticket,
)
from tests.conftest import Member, Org, login, make_department

SEEDED = {
    "feature_suggestion": "功能建议",
    "product_quality": "产品质量",
    "service_attitude": "服务态度",
    "price_objection": "价格异议",
}


async def staff_ticket(
    http: httpx.AsyncClient, org: Org, category: str, **extra: object
) -> dict[str, Any]:
    body = {
        "title": "Customer called about a broken lid",
        "description": "Entered by phone.",
        "category": category,
        "department_id": org.department_id,
        **extra,
    }
    response = await http.post("/api/v1/tickets", json=body, headers=org.manager.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_seeded_categories_route_to_their_departments_by_least_loaded(
    http: httpx.AsyncClient, org: Org
) -> None:
    listed = await http.get("/api/v1/categories?limit=200", headers=org.agent.headers)
    assert listed.status_code == 200
    by_code = {c["code"]: c for c in listed.json()["items"]}
    assert {code: by_code[code]["name_zh"] for code in SEEDED} == SEEDED
    rules = await http.get("/api/v1/routing-rules?limit=200", headers=org.manager.headers)
    assert rules.status_code == 200
    for code in SEEDED:
        seeded = [r for r in rules.json()["items"] if r["category"] == code]
        assert seeded, code
        assert seeded[0]["assignee_strategy"] == "least_loaded"
        assert seeded[0]["department_id"] == by_code[code]["department_id"]


async def test_only_admins_write_and_agents_cannot_read_rules(
    http: httpx.AsyncClient, org: Org
) -> None:
    rule = {"category": "product_quality", "department_id": org.department_id}
    category = {"code": "x_nope", "name_zh": "无", "name_en": "none"}
    assert (await http.get("/api/v1/routing-rules", headers=org.agent.headers)).status_code == 403
    created = await http.post("/api/v1/routing-rules", json=rule, headers=org.manager.headers)
    assert created.status_code == 403
    made = await http.post("/api/v1/categories", json=category, headers=org.manager.headers)
    assert made.status_code == 403
    assert (await http.get("/api/v1/categories")).status_code == 401


async def test_rule_and_category_validation_names_the_field(
    http: httpx.AsyncClient, admin: Member, org: Org
) -> None:
    async def refused(body: dict[str, object], status: int = 422) -> str:
        response = await http.post("/api/v1/routing-rules", json=body, headers=admin.headers)
        assert response.status_code == status, response.text
        return str(response.json()["error"]["details"]["errors"][0]["field"])

    dept = org.department_id
    fixed = {"department_id": dept, "assignee_strategy": "fixed"}
    assert await refused(fixed) == "body.assignee_id"
    assert await refused({"department_id": dept, "category": "no_such"}) == "body.category"
    assert await refused({"department_id": 999_999}) == "body.department_id"
    assert await refused({"department_id": dept, "assignee_strategy": "random"}) == (
        "body.assignee_strategy"
    )
    assert await refused({"department_id": dept, "keywords": [" "]}) == "body"
    code = await make_category(http, admin, dept)
    duplicate = await http.post(
        "/api/v1/categories",
        json={"code": code, "name_zh": "重复", "name_en": "dup"},
        headers=admin.headers,
    )
    assert duplicate.status_code == 409


async def test_rule_lifecycle_create_patch_delete(
    http: httpx.AsyncClient, admin: Member, org: Org
) -> None:
    category = await make_category(http, admin, org.department_id)
    rule = await make_rule(
        http,
        admin,
        category=category,
        channel="web_form",
        keywords=["退款"],
        department_id=org.department_id,
        assignee_strategy="fixed",
        assignee_id=org.manager.id,
    )
    assert rule["position"] == 100
    assert rule["keywords"] == ["退款"]
    url = f"/api/v1/routing-rules/{rule['id']}"
    patched = await http.patch(
        url,
        json={"channel": None, "assignee_strategy": "round_robin", "active": False},
        headers=admin.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["channel"] is None
    assert patched.json()["assignee_strategy"] == "round_robin"
    assert patched.json()["active"] is False
    null_department = await http.patch(url, json={"department_id": None}, headers=admin.headers)
    assert null_department.status_code == 422
    assert (await http.get(url, headers=org.manager.headers)).json()["active"] is False
    assert (await http.delete(url, headers=admin.headers)).status_code == 204
    assert (await http.get(url, headers=admin.headers)).status_code == 404
    renamed = await http.patch(
        f"/api/v1/categories/{category}",
        json={"name_en": "Renamed", "default_priority": "low"},
        headers=admin.headers,
    )
    assert renamed.json()["name_en"] == "Renamed"
    assert renamed.json()["default_priority"] == "low"


async def test_public_ticket_lands_on_the_least_loaded_agent(
    app: object, http: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> None:
    category = await make_category(http, org.admin, None)
    rule = await make_rule(
        http, org.admin, category=category, department_id=org.department_id, position=10
    )
    # The agent already holds an open ticket; the other agent holds none.
    await staff_ticket(http, org, category, assignee_id=org.agent.id)
    async with anonymous(app) as public:
        numbers = [(await submit(public, category))["number"] for _ in range(3)]
    assignees = [(await ticket(http, org.admin, n))["assignee_id"] for n in numbers]
    assert assignees == [org.other_agent.id, org.agent.id, org.other_agent.id]
    first = await ticket(http, org.admin, numbers[0])
    assert first["department_id"] == org.department_id
    dispatched = [e for e in await events(http, org.admin, numbers[0]) if e["seq"] == 2][0]
    assert dispatched["type"] == "dispatched"
    assert dispatched["actor"] == "system"
    assert dispatched["data"]["rule_id"] == rule["id"]
    assert dispatched["data"]["strategy"] == "least_loaded"
    assert dispatched["data"]["assignee_id"] == org.other_agent.id
    told = await notifications(engine, first["id"], "ticket_assigned")
    assert [n.user_id for n in told] == [org.other_agent.id]
    # The assignee now sees it as theirs.
    mine = await http.get(f"/api/v1/tickets/{numbers[0]}", headers=org.other_agent.headers)
    assert mine.status_code == 200


async def test_round_robin_takes_turns_in_the_department(
    app: object, http: httpx.AsyncClient, org: Org
) -> None:
    category = await make_category(http, org.admin, None)
    await make_rule(
        http,
        org.admin,
        category=category,
        department_id=org.department_id,
        assignee_strategy="round_robin",
    )
    async with anonymous(app) as public:
        numbers = [(await submit(public, category))["number"] for _ in range(3)]
    assignees = [(await ticket(http, org.admin, n))["assignee_id"] for n in numbers]
    assert assignees == [org.agent.id, org.other_agent.id, org.agent.id]


async def test_keyword_rule_is_more_specific_than_the_category_rule(
    app: object, http: httpx.AsyncClient, admin: Member, org: Org
) -> None:
    finance = await make_department(http, admin, "finance")
    category = await make_category(http, admin, org.department_id)
    await make_rule(http, admin, category=category, department_id=org.department_id, position=1)
    refunds = await make_rule(
        http,
        admin,
        category=category,
        keywords=["refund", "退款"],
        department_id=finance.department_id,
        assignee_strategy="fixed",
        assignee_id=finance.manager.id,
        position=500,
    )
    async with anonymous(app) as public:
        plain = await submit(public, category, "The colour is wrong")
        refund = await submit(public, category, "我要退款, the REFUND is late")
    plain_view = await ticket(http, admin, plain["number"])
    assert plain_view["department_id"] == org.department_id
    refund_view = await ticket(http, admin, refund["number"])
    assert refund_view["department_id"] == finance.department_id
    assert refund_view["assignee_id"] == finance.manager.id
    data = (await events(http, admin, refund["number"]))[1]["data"]
    assert (data["rule_id"], data["strategy"]) == (refunds["id"], "fixed")


async def test_manual_assignment_always_wins(http: httpx.AsyncClient, org: Org) -> None:
    category = await make_category(http, org.admin, None)
    await make_rule(
        http,
        org.admin,
        category=category,
        department_id=org.department_id,
        assignee_strategy="fixed",
        assignee_id=org.other_agent.id,
    )
    manual = await staff_ticket(http, org, category, assignee_id=org.agent.id)
    assert manual["assignee_id"] == org.agent.id
    assert [e["type"] for e in await events(http, org.admin, manual["number"])] == ["created"]
    # Without an assignee the department's rule picks the person.
    routed = await staff_ticket(http, org, category)
    assert routed["assignee_id"] == org.other_agent.id


async def test_nobody_available_queues_in_the_department_and_tells_its_manager(
    app: object, http: httpx.AsyncClient, admin: Member, engine: AsyncEngine
) -> None:
    code = f"empty-{uuid.uuid4().hex[:8]}"
    dept = await http.post(
        "/api/v1/departments", json={"code": code, "name": code}, headers=admin.headers
    )
    dept_id = dept.json()["id"]
    manager = await http.post(
        "/api/v1/users",
        json={
            "email": f"boss-{code}@example.com",
            "name": "boss",
            "password": "password-123",
            "role": "manager",
            "department_id": dept_id,
        },
        headers=admin.headers,
    )
    manager_id = manager.json()["id"]
    category = await make_category(http, admin, dept_id)
    rule = await make_rule(
        http, admin, category=category, department_id=dept_id, assignee_strategy="round_robin"
    )
    async with anonymous(app) as public:
        created = await submit(public, category)
    view = await ticket(http, admin, created["number"])
    assert (view["department_id"], view["assignee_id"], view["status"]) == (
        dept_id,
        None,
        "pending",
    )
    queued = (await events(http, admin, created["number"]))[-1]
    assert queued["type"] == "queued"
    assert queued["data"]["rule_id"] == rule["id"]
    assert queued["data"]["reason"]
    told = await notifications(engine, view["id"], "ticket_queued")
    assert [n.user_id for n in told] == [manager_id]
    # The manager finds it in the department queue.
    headers = await login(http, f"boss-{code}@example.com", "password-123")
    queue = await http.get(f"/api/v1/tickets?department_id={dept_id}", headers=headers)
    assert [t["number"] for t in queue.json()["items"]] == [created["number"]]
