"""Customer approval over HTTP: resubmitting a rejected customer, one decision for many."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from tests.api.customer_support import build_team, create_customer
from tests.conftest import Member, Org, make_department


@pytest.fixture(scope="module")
async def team(app: object, settings: Settings) -> Org:
    return await build_team(app, settings, "approval")


def url(customer: dict[str, Any], action: str = "") -> str:
    return f"/api/v1/customers/{customer['id']}" + (f"/{action}" if action else "")


async def rejected_customer(http: httpx.AsyncClient, team: Org) -> dict[str, Any]:
    """An agent's customer the department manager rejected."""
    customer = await create_customer(http, team.agent)
    rejected = await http.post(
        url(customer, "approve"),
        json={"decision": "reject", "reason": "industry missing"},
        headers=team.manager.headers,
    )
    assert rejected.status_code == 200, rejected.text
    return rejected.json()  # type: ignore[no-any-return]


async def resubmit(
    http: httpx.AsyncClient,
    who: Member,
    customer: dict[str, Any],
    body: dict[str, Any] | None = None,
    key: str | None = None,
) -> httpx.Response:
    headers = {**who.headers, **({"Idempotency-Key": key} if key else {})}
    return await http.post(url(customer, "resubmit"), json=body, headers=headers)


async def event_types(http: httpx.AsyncClient, who: Member, customer: dict[str, Any]) -> list[str]:
    events = await http.get(url(customer, "events"), headers=who.headers)
    assert events.status_code == 200, events.text
    return [e["type"] for e in events.json()]


async def test_owner_fixes_and_resubmits_a_rejected_customer_for_a_fresh_approval(
    http: httpx.AsyncClient, team: Org, temporal_env: WorkflowEnvironment
) -> None:
    customer = await rejected_customer(http, team)
    handle = temporal_env.client.get_workflow_handle(f"customer-approval-{customer['id']}")
    rejected_run = (await handle.describe()).run_id

    fixed = await http.patch(url(customer), json={"industry": "物流"}, headers=team.agent.headers)
    assert fixed.status_code == 200, fixed.text
    response = await resubmit(http, team.agent, customer, {"note": "industry added"})
    assert response.status_code == 200, response.text
    assert response.json()["approval"] == "pending"
    assert response.json()["approval_reason"] is None
    assert response.json()["industry"] == "物流"

    events = (await http.get(url(customer, "events"), headers=team.manager.headers)).json()
    assert [e["type"] for e in events][-3:] == ["rejected", "updated", "resubmitted"]
    assert events[-1]["actor"] == f"user:{team.agent.id}"
    assert events[-1]["data"] == {"note": "industry added", "previous_reason": "industry missing"}
    fresh = await handle.describe()
    assert fresh.run_id != rejected_run
    assert fresh.status == WorkflowExecutionStatus.RUNNING
    listed = await http.get("/api/v1/customers?approval=pending", headers=team.manager.headers)
    assert customer["id"] in [c["id"] for c in listed.json()["items"]]

    approved = await http.post(
        url(customer, "approve"), json={"decision": "approve"}, headers=team.manager.headers
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["approval"] == "approved"
    assert (await event_types(http, team.agent, customer))[-1] == "approved"


async def test_only_a_rejected_customer_is_resubmitted(http: httpx.AsyncClient, team: Org) -> None:
    pending = await create_customer(http, team.agent)
    approved = await create_customer(http, team.manager)
    for customer in (pending, approved):
        response = await resubmit(http, team.manager, customer)
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "not_rejected"
    assert "resubmitted" not in await event_types(http, team.manager, pending)
    # A manager of the department may resubmit too, once.
    rejected = await rejected_customer(http, team)
    assert (await resubmit(http, team.manager, rejected)).status_code == 200
    again = await resubmit(http, team.manager, rejected)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_rejected"


async def test_resubmitting_outside_ones_scope_is_not_found(
    http: httpx.AsyncClient, team: Org
) -> None:
    customer = await rejected_customer(http, team)
    other = await make_department(http, team.admin, "resubmit-elsewhere")
    for who in (other.manager, other.agent, team.other_agent):
        response = await resubmit(http, who, customer)
        assert response.status_code == 404, response.text
    assert (await resubmit(http, team.agent, {"id": 2**40})).status_code == 404
    fetched = await http.get(url(customer), headers=team.agent.headers)
    assert fetched.json()["approval"] == "rejected"


async def test_a_retried_resubmit_starts_one_run_and_writes_one_event(
    http: httpx.AsyncClient, team: Org, temporal_env: WorkflowEnvironment
) -> None:
    customer = await rejected_customer(http, team)
    handle = temporal_env.client.get_workflow_handle(f"customer-approval-{customer['id']}")
    body = {"note": "second try"}
    first = await resubmit(http, team.agent, customer, body, key="resubmit-1")
    run = (await handle.describe()).run_id
    retry = await resubmit(http, team.agent, customer, body, key="resubmit-1")
    assert first.status_code == retry.status_code == 200, retry.text
    assert retry.json()["approval"] == "pending"
    again = await handle.describe()
    assert (again.run_id, again.status) == (run, WorkflowExecutionStatus.RUNNING)
    assert (await event_types(http, team.agent, customer)).count("resubmitted") == 1

    reused = await resubmit(http, team.agent, customer, {"note": "other"}, key="resubmit-1")
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    unkeyed = await resubmit(http, team.agent, customer, body)
    assert unkeyed.json()["error"]["code"] == "not_rejected"


async def test_a_manager_decides_many_customers_in_one_call(
    http: httpx.AsyncClient, team: Org
) -> None:
    first, second, decided = [await create_customer(http, team.agent) for _ in range(3)]
    approved = await http.post(
        url(decided, "approve"), json={"decision": "approve"}, headers=team.manager.headers
    )
    assert approved.status_code == 200
    other = await make_department(http, team.admin, "bulk-elsewhere")
    elsewhere = await create_customer(http, other.agent)
    ids = [first["id"], decided["id"], elsewhere["id"], 2**40, second["id"]]

    response = await http.post(
        "/api/v1/customers/approve",
        json={"customer_ids": ids, "decision": "reject", "reason": "duplicates"},
        headers=team.manager.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["decided"] == [
        {"id": first["id"], "approval": "rejected"},
        {"id": second["id"], "approval": "rejected"},
    ]
    assert [(f["id"], f["code"]) for f in response.json()["failed"]] == [
        (decided["id"], "already_decided"),
        (elsewhere["id"], "not_found"),
        (2**40, "not_found"),
    ]
    fetched = await http.get(url(second), headers=team.agent.headers)
    assert (fetched.json()["approval"], fetched.json()["approval_reason"]) == (
        "rejected",
        "duplicates",
    )
    assert (await event_types(http, team.agent, first))[-1] == "rejected"
    still = await http.get(url(elsewhere), headers=other.manager.headers)
    assert still.json()["approval"] == "pending"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"customer_ids": [1], "decision": "reject"}, 422),
        ({"customer_ids": list(range(1, 502)), "decision": "approve"}, 422),
        ({"customer_ids": [1, 1], "decision": "approve"}, 422),
        ({"customer_ids": [], "decision": "approve"}, 422),
    ],
)
async def test_bulk_decisions_reject_bad_input(
    http: httpx.AsyncClient, team: Org, body: dict[str, Any], status: int
) -> None:
    response = await http.post("/api/v1/customers/approve", json=body, headers=team.manager.headers)
    assert response.status_code == status, response.text


async def test_agents_do_not_decide_in_bulk(http: httpx.AsyncClient, team: Org) -> None:
    customer = await create_customer(http, team.agent)
    response = await http.post(
        "/api/v1/customers/approve",
        json={"customer_ids": [customer["id"]], "decision": "approve"},
        headers=team.agent.headers,
    )
    assert response.status_code == 403
