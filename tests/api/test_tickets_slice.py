"""The ticket vertical slice over HTTP: create, read, act, timeline."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import Org


def new_ticket(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "title": "App crashes on login",
        "description": "Since this morning the iOS app closes right after login.",
        "category": "product_quality",
        "priority": "urgent",
        "channel": "staff",
        "contact": {"name": "Zhang San", "phone": "13812345678", "email": "zs@example.com"},
        "order_no": "SO20240518002",
    }
    body.update(overrides)
    return body


async def create(http: httpx.AsyncClient, org: Org, **overrides: object) -> dict[str, object]:
    response = await http.post(
        "/api/v1/tickets",
        json=new_ticket(department_id=org.department_id, **overrides),
        headers=org.manager.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_returns_persisted_ticket_with_number_and_sla(
    http: httpx.AsyncClient, org: Org
) -> None:
    ticket = await create(http, org)
    assert ticket["number"].startswith("FB")
    assert len(ticket["number"]) >= 13
    assert ticket["status"] == "pending"
    assert ticket["workflow_id"] == f"ticket-{ticket['number']}"
    assert ticket["sla"]["policy_version"] == 1
    assert ticket["sla"]["first_response"]["remaining_seconds"] > 7000
    by_number = await http.get(f"/api/v1/tickets/{ticket['number']}", headers=org.manager.headers)
    assert by_number.json()["id"] == ticket["id"]
    events = await http.get(f"/api/v1/tickets/{ticket['id']}/events", headers=org.manager.headers)
    assert [e["type"] for e in events.json()] == ["created"]


async def test_same_idempotency_key_yields_one_ticket(http: httpx.AsyncClient, org: Org) -> None:
    headers = {**org.manager.headers, "Idempotency-Key": f"create-{org.department_id}"}
    body = new_ticket(department_id=org.department_id)
    first = await http.post("/api/v1/tickets", json=body, headers=headers)
    again = await http.post("/api/v1/tickets", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other = await http.post("/api/v1/tickets", json={**body, "title": "different"}, headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


async def test_concurrent_burst_of_fifty_creates_gets_fifty_numbers(
    http: httpx.AsyncClient, org: Org
) -> None:
    responses = await asyncio.gather(
        *[
            http.post(
                "/api/v1/tickets",
                json=new_ticket(department_id=org.department_id, title=f"burst {i}"),
                headers=org.manager.headers,
            )
            for i in range(50)
        ]
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["number"] for r in responses}) == 50


async def test_lifecycle_assign_comment_status_appends_timeline(
    http: httpx.AsyncClient, org: Org
) -> None:
    ticket = await create(http, org)
    base = f"/api/v1/tickets/{ticket['id']}"
    h = org.manager.headers
    assigned = await http.post(f"{base}/assign", json={"assignee_id": org.agent.id}, headers=h)
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignee_id"] == org.agent.id
    commented = await http.post(
        f"{base}/comments", json={"body": "We are on it", "public": True}, headers=org.agent.headers
    )
    assert commented.status_code == 200, commented.text
    assert commented.json()["sla"]["first_response"]["met_at"] is not None
    moved = await http.post(
        f"{base}/status",
        json={"status": "processing", "note": "restarting the auth service"},
        headers=org.agent.headers,
    )
    assert moved.json()["status"] == "processing"
    resolved = await http.post(f"{base}/status", json={"status": "resolved"}, headers=h)
    assert resolved.json()["status"] == "resolved"
    events = (await http.get(f"{base}/events", headers=h)).json()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events] == [
        "created",
        "assigned",
        "commented",
        "status_changed",
        "status_changed",
    ]
    assert events[1]["actor"] == f"user:{org.manager.id}"


async def test_forbidden_transition_is_409_with_reason(http: httpx.AsyncClient, org: Org) -> None:
    ticket = await create(http, org)
    response = await http.post(
        f"/api/v1/tickets/{ticket['id']}/status",
        json={"status": "closed"},
        headers=org.manager.headers,
    )
    assert response.status_code == 409
    assert "pending" in response.json()["error"]["message"]


async def test_processing_without_note_is_422_naming_the_field(
    http: httpx.AsyncClient, org: Org
) -> None:
    ticket = await create(http, org)
    response = await http.post(
        f"/api/v1/tickets/{ticket['id']}/status",
        json={"status": "processing"},
        headers=org.manager.headers,
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["field"] == "body.note"


async def test_agent_scope_and_phone_masking(http: httpx.AsyncClient, org: Org) -> None:
    ticket = await create(http, org)
    # Unassigned in the agent's department: visible, phone masked.
    seen = await http.get(f"/api/v1/tickets/{ticket['id']}", headers=org.agent.headers)
    assert seen.status_code == 200
    assert seen.json()["contact"]["phone"] == "138****5678"
    await http.post(
        f"/api/v1/tickets/{ticket['id']}/assign",
        json={"assignee_id": org.agent.id},
        headers=org.manager.headers,
    )
    # Assigned to a colleague: gone from the other agent's view.
    hidden = await http.get(f"/api/v1/tickets/{ticket['id']}", headers=org.other_agent.headers)
    assert hidden.status_code == 404
    listed = await http.get("/api/v1/tickets", headers=org.other_agent.headers)
    assert ticket["id"] not in [t["id"] for t in listed.json()["items"]]
    # The assignee sees the phone in clear.
    mine = await http.get(f"/api/v1/tickets/{ticket['id']}", headers=org.agent.headers)
    assert mine.json()["contact"]["phone"] == "13812345678"


async def test_list_filters_and_cursor_pagination(http: httpx.AsyncClient, org: Org) -> None:
    for i in range(5):
        await create(http, org, title=f"page {i}", priority="low", category="pricing")
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 2, "priority": "low", "category": "pricing"}
        if cursor:
            params["cursor"] = cursor
        page = (
            await http.get("/api/v1/tickets", params=params, headers=org.manager.headers)
        ).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 5
    assert seen == sorted(seen, reverse=True)
