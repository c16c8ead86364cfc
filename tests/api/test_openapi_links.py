"""The OpenAPI schema is the API: links lead from each create to what it created."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_notifications import open_ticket
from tests.conftest import Org


async def schema(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def links_of(document: dict[str, Any], path: str) -> dict[str, Any]:
    links: dict[str, Any] = document["paths"][path]["post"]["responses"]["201"]["links"]
    return links


def operation(document: dict[str, Any], operation_id: str) -> tuple[str, str]:
    for path, item in document["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return method, path
    raise AssertionError(f"no operation {operation_id}")


async def test_creates_link_to_the_operations_on_what_they_created(
    http: httpx.AsyncClient,
) -> None:
    document = await schema(http)
    targets = {
        path: {operation(document, name)[1] for name in links_of(document, path)}
        for path in ("/api/v1/tickets", "/api/v1/follow-up-plans", "/api/v1/webhooks")
    }
    assert {
        "/api/v1/tickets/{ref}",
        "/api/v1/tickets/{ref}/assign",
        "/api/v1/tickets/{ref}/status",
        "/api/v1/tickets/{ref}/collaborators",
    } <= targets["/api/v1/tickets"]
    assert {
        "/api/v1/follow-up-plans/{plan_id}/pause",
        "/api/v1/follow-up-plans/{plan_id}/resume",
        "/api/v1/follow-up-plans/{plan_id}/cancel",
    } <= targets["/api/v1/follow-up-plans"]
    assert "/api/v1/webhooks/{webhook_id}/deliveries" in targets["/api/v1/webhooks"]
    for link in links_of(document, "/api/v1/tickets").values():
        assert link["parameters"] == {"ref": "$response.body#/id"}


async def test_following_a_link_from_a_created_ticket_reaches_it(
    http: httpx.AsyncClient, org: Org
) -> None:
    document = await schema(http)
    ticket = await open_ticket(http, org, org.agent)
    for name, link in links_of(document, "/api/v1/tickets").items():
        method, path = operation(document, name)
        if method != "get":
            continue
        field = link["parameters"]["ref"].removeprefix("$response.body#/")
        url = path.replace("{ref}", str(ticket[field]))
        response = await http.get(url, headers=org.manager.headers)
        assert response.status_code == 200, (url, response.text)


async def test_the_schema_states_the_rules_the_code_enforces(http: httpx.AsyncClient) -> None:
    document = await schema(http)
    components = document["components"]["schemas"]
    policy = components["PolicyBody"]["properties"]
    assert policy["targets"]["required"] == ["urgent", "normal", "low"]
    assert policy["tracking"]["additionalProperties"] is False
    assert "pattern" in components["TargetIn"]["properties"]["first_response"]
    calendar = components["CalendarBody"]["properties"]
    assert "Asia/Shanghai" in calendar["timezone"]["enum"]
    assert "CN" in calendar["holidays"]["anyOf"][0]["enum"]
    assert "anyOf" in components["AssignBody"]
    assert components["ApproveBody"]["then"]["required"] == ["reason"]
    ids = components["BulkApproveBody"]["properties"]["customer_ids"]
    assert ids["items"]["minimum"] == 1
    assert ids["uniqueItems"] is True
    assert components["CollaboratorBody"]["properties"]["department_id"]["maximum"] == 2**31 - 1
    hook = components["WebhookCreate"]["properties"]["url"]
    assert hook["format"] == "uri"
