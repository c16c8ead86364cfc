"""Solutions, service orders from accepted quotes, stages in order, and the survey's ticket."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.sales.links import link_token
from models import Ticket
from tests.api.customer_support import create_customer
from tests.conftest import TEST_SECRET, Org

API = "/api/v1"
KEY = TEST_SECRET.encode()


async def _accepted_quote(http: httpx.AsyncClient, org: Org, customer_id: int) -> dict[str, Any]:
    solution = await http.post(
        f"{API}/solutions",
        json={
            "name": "标准运维包",
            "kind": "standard",
            "items": [
                {"sku": "OPS-1", "name": "远程巡检", "unit_price": "1200.00"},
                {"sku": "OPS-2", "name": "现场支持", "unit_price": "800.50"},
            ],
            "tags": ["运维"],
        },
        headers=org.manager.headers,
    )
    assert solution.status_code == 201, solution.text
    quote = await http.post(
        f"{API}/quotes",
        json={
            "customer_id": customer_id,
            "solution_id": solution.json()["id"],
            "valid_until": "2099-01-01T00:00:00Z",
        },
        headers=org.agent.headers,
    )
    assert quote.status_code == 201, quote.text
    assert [line["name"] for line in quote.json()["lines"]] == ["远程巡检", "现场支持"]
    assert quote.json()["total"] == "2000.50"
    qid = quote.json()["id"]
    for step in ("submit", "send"):
        response = await http.post(f"{API}/quotes/{qid}/{step}", headers=org.agent.headers)
        assert response.status_code == 200, response.text
    token = link_token(KEY, "quote", qid)
    accepted = await http.post(f"{API}/public/quotes/{token}/respond", json={"response": "accept"})
    assert accepted.status_code == 200, accepted.text
    return quote.json()  # type: ignore[no-any-return]


async def test_order_from_accepted_quote_completes_and_a_low_survey_opens_one_ticket(
    http: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> None:
    customer = await create_customer(http, org.agent)
    quote = await _accepted_quote(http, org, customer["id"])
    created = await http.post(
        f"{API}/service-orders",
        json={
            "customer_id": customer["id"],
            "quote_id": quote["id"],
            "title": "运维服务交付",
            "owner_id": org.agent.id,
            "stages": [{"name": "上线交付", "due_in": "P2D"}],
        },
        headers={**org.agent.headers, "Idempotency-Key": f"so-{quote['id']}"},
    )
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["number"].startswith("SO")
    assert [(s["name"], s["status"]) for s in order["stages"]] == [("上线交付", "in_progress")]
    base = f"{API}/service-orders/{order['id']}"
    outsider = await http.post(
        f"{base}/stages/0/complete", json={"note": "x"}, headers=org.other_agent.headers
    )
    assert outsider.status_code == 404
    done = await http.post(
        f"{base}/stages/0/complete",
        json={"note": "客户已验收", "attachment_ids": [11]},
        headers=org.agent.headers,
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    assert done.json()["stages"][0]["attachment_ids"] == [11]
    again = await http.post(
        f"{base}/stages/0/complete", json={"note": "再次"}, headers=org.agent.headers
    )
    assert again.status_code == 409

    survey = f"{API}/public/surveys/{link_token(KEY, 'survey', order['id'])}"
    assert (await http.get(survey)).json()["answered"] is False
    assert (await http.post(survey, json={"scores": {"quality": 9}})).status_code == 422
    body = {
        "scores": {"quality": 4, "response_speed": 2, "professionalism": 5},
        "comment": "响应太慢",
    }
    first, retry = await asyncio.gather(http.post(survey, json=body), http.post(survey, json=body))
    assert first.status_code == retry.status_code == 200, (first.text, retry.text)
    number = first.json()["ticket_number"] or retry.json()["ticket_number"]
    assert number is not None
    third = await http.post(survey, json=body)
    assert third.json()["ticket_number"] == number
    changed = await http.post(survey, json={**body, "comment": "改主意了"})
    assert changed.status_code == 409
    async with engine.connect() as conn:
        tickets = await conn.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.order_no == order["number"])
        )
    assert tickets == 1
    wrong = f"{API}/public/surveys/{link_token(KEY, 'quote', order['id'])}"
    assert (await http.get(wrong)).status_code == 404


async def test_default_stages_complete_only_in_order(http: httpx.AsyncClient, org: Org) -> None:
    customer = await create_customer(http, org.agent)
    created = await http.post(
        f"{API}/service-orders",
        json={"customer_id": customer["id"], "title": "定制开发", "owner_id": org.agent.id},
        headers=org.agent.headers,
    )
    assert created.status_code == 201, created.text
    stages = created.json()["stages"]
    assert [s["name"] for s in stages] == ["需求调研", "方案设计", "开发测试", "验收交付"]
    assert [s["status"] for s in stages] == ["in_progress", "pending", "pending", "pending"]
    assert stages[0]["due_at"] < stages[1]["due_at"] < stages[3]["due_at"]
    base = f"{API}/service-orders/{created.json()['id']}"
    skipped = await http.post(
        f"{base}/stages/2/complete", json={"note": "跳过"}, headers=org.agent.headers
    )
    assert skipped.status_code == 409
    first = await http.post(
        f"{base}/stages/0/complete", json={"note": "调研完成"}, headers=org.agent.headers
    )
    assert first.json()["current_stage"] == 1
    assert [s["status"] for s in first.json()["stages"]][:2] == ["done", "in_progress"]


async def test_a_quote_that_was_not_accepted_cannot_start_an_order(
    http: httpx.AsyncClient, org: Org
) -> None:
    customer = await create_customer(http, org.agent)
    quote = await http.post(
        f"{API}/quotes",
        json={
            "customer_id": customer["id"],
            "valid_until": "2099-01-01T00:00:00Z",
            "lines": [{"name": "x", "quantity": "1", "unit_price": "1.00"}],
        },
        headers=org.agent.headers,
    )
    response = await http.post(
        f"{API}/service-orders",
        json={
            "customer_id": customer["id"],
            "quote_id": quote.json()["id"],
            "title": "t",
            "owner_id": org.agent.id,
        },
        headers=org.agent.headers,
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["field"] == "body.quote_id"
