"""Customer orders: keyed by order number, money as decimal strings, scoped like the customer."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import make_sessionmaker
from models import TicketReportFacts
from tests.api.customer_support import build_team, create_customer
from tests.api.test_tickets_slice import create
from tests.conftest import Org


@pytest.fixture(scope="module")
async def team(app: object, settings: object) -> Org:
    return await build_team(app, settings, "ord")  # type: ignore[arg-type]


async def test_an_order_is_created_once_per_number(http: httpx.AsyncClient, team: Org) -> None:
    customer = await create_customer(http, team.manager)
    number = f"SO{uuid.uuid4().hex[:10]}"
    url = f"/api/v1/customers/{customer['id']}/orders"
    body = {"order_no": number, "amount": "1999.90", "ordered_on": "2025-09-30"}
    first = await http.post(url, json=body, headers=team.manager.headers)
    assert first.status_code == 201, first.text
    assert first.json()["amount"] == "1999.90"
    assert first.json()["source"] == "manual"
    again = await http.post(url, json=body, headers=team.manager.headers)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    other = await http.post(url, json={**body, "amount": "5.00"}, headers=team.manager.headers)
    assert other.status_code == 409
    listed = await http.get(url, headers=team.manager.headers)
    assert [o["order_no"] for o in listed.json()["items"]] == [number]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"amount": "12.345"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"ordered_on": "2025-02-30"}, "ordered_on"),
        ({"order_no": "has space"}, "order_no"),
        ({"currency": "yuan"}, "currency"),
    ],
)
async def test_bad_orders_are_422_naming_the_field(
    http: httpx.AsyncClient, team: Org, patch: dict[str, str], field: str
) -> None:
    customer = await create_customer(http, team.manager)
    body = {"order_no": f"SO{uuid.uuid4().hex[:8]}", "amount": "1.00", "ordered_on": "2025-09-30"}
    response = await http.post(
        f"/api/v1/customers/{customer['id']}/orders",
        json={**body, **patch},
        headers=team.manager.headers,
    )
    assert response.status_code == 422, response.text
    assert field in response.text


async def test_orders_outside_scope_are_404(http: httpx.AsyncClient, team: Org, org: Org) -> None:
    customer = await create_customer(http, team.manager)
    response = await http.get(
        f"/api/v1/customers/{customer['id']}/orders", headers=org.manager.headers
    )
    assert response.status_code == 404


async def test_admins_extend_the_keyword_dictionary(
    http: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> None:
    refused = await http.put(
        "/api/v1/report-words", json={"word": "卡纸", "kind": "stop"}, headers=org.manager.headers
    )
    assert refused.status_code == 403
    added = await http.put(
        "/api/v1/report-words", json={"word": "卡纸", "kind": "stop"}, headers=org.admin.headers
    )
    assert added.status_code == 200
    try:
        ticket = await create(http, org, title="打印机卡纸", description="打印机卡纸了")
        async with make_sessionmaker(engine)() as session:
            facts = await session.get(TicketReportFacts, ticket["id"])
            assert facts is not None
            assert "打印机" in facts.keywords
            assert "卡纸" not in facts.keywords
    finally:
        gone = await http.delete("/api/v1/report-words/卡纸", headers=org.admin.headers)
        assert gone.status_code == 204
