"""Merging duplicates moves contacts, tags, interactions and tickets, and records the merge."""

from __future__ import annotations

import httpx
import pytest

from core.settings import Settings
from tests.api.customer_support import Numbers, build_team, create_customer, unique
from tests.conftest import Org, make_department


@pytest.fixture(scope="module")
async def team(app: object, settings: Settings) -> Org:
    return await build_team(app, settings)


async def test_merge_moves_everything_into_the_target(http: httpx.AsyncClient, team: Org) -> None:
    numbers = Numbers()
    shared, own = numbers(), numbers()
    h = team.manager.headers
    target = await create_customer(
        http, team.manager, tags=["VIP"], contacts=[{"name": "A", "phone": shared}]
    )
    source = await create_customer(
        http,
        team.manager,
        tags=["VIP", "近期有采购意向"],
        contacts=[
            {"name": "A again", "phone": f"+86{shared}"},
            {"name": "B", "phone": own, "email": "b@example.com"},
        ],
    )
    touch = await http.post(
        f"/api/v1/customers/{source['id']}/interactions",
        json={"kind": "call", "summary": "asked for a demo"},
        headers=h,
    )
    assert touch.status_code == 201
    ticket = await http.post(
        "/api/v1/tickets",
        json={
            "title": "Broken part",
            "description": "Arrived cracked.",
            "category": unique("cat"),
            "channel": "staff",
            "customer_id": source["id"],
            "department_id": team.department_id,
        },
        headers=h,
    )
    assert ticket.status_code == 201

    merged = await http.post(
        "/api/v1/customers/merge",
        json={"target_id": target["id"], "source_ids": [source["id"]]},
        headers=h,
    )
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["merged"]["contacts_moved"] == 1
    assert body["merged"]["contacts_duplicate"] == 1
    assert body["merged"]["interactions_moved"] == 1
    assert body["merged"]["tickets_moved"] == 1
    result = body["target"]
    assert result["tags"] == ["VIP", "近期有采购意向"]
    assert sorted(c["name"] for c in result["contacts"]) == ["A", "B"]
    assert [c["primary"] for c in result["contacts"]] == [True, False]
    assert result["last_contact_at"] == touch.json()["at"]

    interactions = await http.get(f"/api/v1/customers/{target['id']}/interactions", headers=h)
    assert [i["id"] for i in interactions.json()["items"]] == [touch.json()["id"]]
    tickets = await http.get(f"/api/v1/customers/{target['id']}/tickets", headers=h)
    assert [t["id"] for t in tickets.json()["items"]] == [ticket.json()["id"]]
    gone = await http.get(f"/api/v1/customers/{source['id']}", headers=h)
    assert gone.json()["merged_into_id"] == target["id"]
    listed = await http.get(f"/api/v1/customers?phone={own}", headers=h)
    assert [c["id"] for c in listed.json()["items"]] == [target["id"]]
    events = await http.get(f"/api/v1/customers/{target['id']}/events", headers=h)
    merged_event = events.json()[-1]
    assert merged_event["type"] == "merged"
    assert merged_event["data"]["source_ids"] == [source["id"]]

    twice = await http.post(
        "/api/v1/customers/merge",
        json={"target_id": target["id"], "source_ids": [source["id"]]},
        headers=h,
    )
    assert twice.status_code == 409


async def test_merge_needs_admin_or_manager_of_both(http: httpx.AsyncClient, team: Org) -> None:
    other = await make_department(http, team.admin, "merge")
    here = await create_customer(http, team.manager, contacts=[])
    there = await create_customer(http, other.manager, contacts=[])
    body = {"target_id": here["id"], "source_ids": [there["id"]]}
    by_manager = await http.post("/api/v1/customers/merge", json=body, headers=team.manager.headers)
    assert by_manager.status_code == 404
    mine = [await create_customer(http, team.agent, contacts=[]) for _ in range(2)]
    by_agent = await http.post(
        "/api/v1/customers/merge",
        json={"target_id": mine[0]["id"], "source_ids": [mine[1]["id"]]},
        headers=team.agent.headers,
    )
    assert by_agent.status_code == 403
    by_admin = await http.post("/api/v1/customers/merge", json=body, headers=team.admin.headers)
    assert by_admin.status_code == 200
    self_merge = await http.post(
        "/api/v1/customers/merge",
        json={"target_id": here["id"], "source_ids": [here["id"]]},
        headers=team.admin.headers,
    )
    assert self_merge.status_code == 422
