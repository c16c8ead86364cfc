"""Publishing over HTTP (202, rollout progress, one rollout at a time) and the simulator."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from models import PolicyRollout
from tests.api.test_sla_admin import (
    client,
    create_policy,
    open_ticket,
    policy_body,
    root,
    unique,
)
from tests.conftest import Member, make_department

__all__ = ["client", "root"]


async def publish(
    client: httpx.AsyncClient, member: Member, policy_id: int, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/sla-policies/{policy_id}/publish", json=body, headers=member.headers
    )


async def finished(client: httpx.AsyncClient, root: Member, policy_id: int, rid: int) -> Any:
    for _ in range(300):
        response = await client.get(
            f"/api/v1/sla-policies/{policy_id}/rollouts/{rid}", headers=root.headers
        )
        assert response.status_code == 200, response.text
        if response.json()["status"] != "running":
            return response.json()
        await asyncio.sleep(0.1)
    raise AssertionError("rollout still running")


async def test_rebind_open_moves_open_tickets_and_new_tickets_only_moves_none(
    client: httpx.AsyncClient, root: Member
) -> None:
    category = unique("publish")
    name = unique("Publish")
    scope = {"categories": [category]}
    policy = await create_policy(client, root, policy_body(name, first="PT2H", scope=scope))
    tickets = [await open_ticket(client, root, category) for _ in range(3)]
    put = await client.put(
        f"/api/v1/sla-policies/{policy['id']}",
        json=policy_body(name, first="PT1H", scope=scope),
        headers=root.headers,
    )
    assert put.status_code == 200

    keyed = {**root.headers, "Idempotency-Key": unique("publish")}
    path = f"/api/v1/sla-policies/{policy['id']}/publish"
    response = await client.post(path, json={"rollout": "rebind_open"}, headers=keyed)
    assert response.status_code == 202, response.text
    assert response.json()["version"] == 2
    # A retry with the same key answers with the same rollout; another body is refused.
    again = await client.post(path, json={"rollout": "rebind_open"}, headers=keyed)
    assert again.json()["rollout_id"] == response.json()["rollout_id"]
    other = await client.post(path, json={"rollout": "new_tickets_only"}, headers=keyed)
    assert other.status_code == 409
    done = await finished(client, root, policy["id"], response.json()["rollout_id"])
    assert (done["total"], done["rebound"], done["skipped"], done["failed"]) == (3, 3, 0, 0)
    assert done["finished_at"] is not None
    for ticket in tickets:
        shown = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=root.headers)).json()
        assert shown["sla"]["policy_version"] == 2
        events = await client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=root.headers)
        (rebound,) = [e for e in events.json() if e["type"] == "policy_rebound"]
        due = rebound["data"]["first_response"]
        created = datetime.fromisoformat(ticket["created_at"])
        assert datetime.fromisoformat(due["from_due_at"]) == created + timedelta(hours=2)
        assert datetime.fromisoformat(due["to_due_at"]) == created + timedelta(hours=1)

    # Back to version 1 for new tickets only: the open ones stay on 2.
    back = await publish(client, root, policy["id"], rollout="new_tickets_only", version=1)
    assert back.status_code == 202
    assert back.json()["status"] == "completed"
    assert back.json()["total"] == 0
    newer = await open_ticket(client, root, category)
    assert newer["sla"]["policy_version"] == 1
    shown = (await client.get(f"/api/v1/tickets/{tickets[0]['id']}", headers=root.headers)).json()
    assert shown["sla"]["policy_version"] == 2

    log = await client.get(
        "/api/v1/audit/log", params={"action": "sla_policy.publish"}, headers=root.headers
    )
    mine = [e for e in log.json()["items"] if e["resource_id"] == str(policy["id"])]
    assert [e["data"]["mode"] for e in mine] == ["new_tickets_only", "rebind_open"]
    finish = await client.get(
        "/api/v1/audit/log", params={"action": "sla_policy.rollout_finished"}, headers=root.headers
    )
    assert any(e["data"]["rebound"] == 3 for e in finish.json()["items"])


async def test_a_second_rollout_while_one_runs_is_409(
    client: httpx.AsyncClient, root: Member, engine: AsyncEngine
) -> None:
    policy = await create_policy(
        client, root, policy_body(unique("Busy"), scope={"categories": [unique("busy")]})
    )
    async with async_sessionmaker(engine).begin() as session:
        session.add(
            PolicyRollout(
                policy_id=policy["id"],
                to_version=1,
                calendar_version=1,
                mode="rebind_open",
                status="running",
                started_at=datetime.now(UTC),
            )
        )
    response = await publish(client, root, policy["id"], rollout="rebind_open")
    assert response.status_code == 409
    assert "still running" in response.json()["error"]["message"]
    missing = await publish(client, root, policy["id"], rollout="rebind_open", version=7)
    assert missing.status_code == 404
    bad = await publish(client, root, policy["id"], rollout="sometime")
    assert bad.status_code == 422


async def test_simulate_answers_in_the_documented_shape_for_managers_only(
    client: httpx.AsyncClient, root: Member
) -> None:
    org = await make_department(client, root, "sim")
    category = unique("simulate")
    scope = {"categories": [category]}
    await create_policy(client, root, policy_body(unique("Sim"), first="PT2H", scope=scope))
    await open_ticket(client, root, category, org.department_id)
    await open_ticket(client, root, category)
    now = datetime.now(UTC)
    body = {
        "policy": policy_body("candidate", first="PT1S"),
        "since": (now - timedelta(hours=1)).isoformat(),
        "until": (now + timedelta(hours=1)).isoformat(),
        "category": category,
    }
    await asyncio.sleep(1.5)
    response = await client.post("/api/v1/sla-policies/simulate", json=body, headers=root.headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["evaluated"] == 2
    assert answer["summary"]["first_response"] == {"breached_now": 0, "breached_candidate": 2}
    assert answer["by_priority"]["urgent"]["first_response"]["breached_candidate"] == 2
    assert {c["target"] for c in answer["changed"]} == {"first_response"}
    assert all(c["candidate"]["breached"] and not c["now"]["breached"] for c in answer["changed"])
    assert isinstance(answer["elapsed_ms"], int)

    # A manager sees their own department only; an agent may not simulate.
    managed = await client.post(
        "/api/v1/sla-policies/simulate", json=body, headers=org.manager.headers
    )
    assert managed.json()["evaluated"] == 1
    assert [d["department_id"] for d in managed.json()["by_department"]] == [org.department_id]
    agent = await client.post("/api/v1/sla-policies/simulate", json=body, headers=org.agent.headers)
    assert agent.status_code == 403

    wrong = policy_body("candidate")
    wrong["targets"]["low"] = {"first_response": "PT9H", "resolution": "PT1H"}
    invalid = await client.post(
        "/api/v1/sla-policies/simulate", json={**body, "policy": wrong}, headers=root.headers
    )
    assert invalid.status_code == 422
    field = invalid.json()["error"]["details"]["errors"][0]["field"]
    assert field == "body.policy.targets.low.resolution"
    backwards = {**body, "since": body["until"], "until": body["since"]}
    late = await client.post("/api/v1/sla-policies/simulate", json=backwards, headers=root.headers)
    assert late.status_code == 422
