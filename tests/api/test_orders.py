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


async def test_an_order_file_is_imported_once_and_a_bad_row_rejects_it_whole(
    http: httpx.AsyncClient, team: Org
) -> None:
    customer = await create_customer(http, team.manager)
    tag = uuid.uuid4().hex[:8]
    good = (
        "\ufeffcustomer_code,order_no,amount,ordered_on,currency\n"
        f"{customer['code']},IM{tag}1,1200.00,2025-09-01,\n"
        f"{customer['code']},IM{tag}2,88.5,2025-09-20,CNY\n"
    ).encode()
    url, h = "/api/v1/orders/import", team.manager.headers
    first = await http.post(url, files={"file": ("o.csv", good, "text/csv")}, headers=h)
    assert first.status_code == 200, first.text
    assert first.json() == {"created": 2, "unchanged": 0}
    again = await http.post(url, files={"file": ("o.csv", good, "text/csv")}, headers=h)
    assert again.json() == {"created": 0, "unchanged": 2}
    orders = await http.get(f"/api/v1/customers/{customer['id']}/orders", headers=h)
    assert {(o["amount"], o["source"]) for o in orders.json()["items"]} == {
        ("1200.00", "import"),
        ("88.50", "import"),
    }
    bad = (
        "customer_code,order_no,amount,ordered_on\n"
        f"{customer['code']},IM{tag}3,10.00,2025-09-02\n"
        f"{customer['code']},IM{tag}4,1.234,2025-09-31\n"
        f"CUS00000000000,IM{tag}5,1.00,2025-09-02\n"
    ).encode()
    rejected = await http.post(url, files={"file": ("o.csv", bad, "text/csv")}, headers=h)
    assert rejected.status_code == 422
    errors = rejected.json()["error"]["details"]["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {(3, "amount"), (3, "ordered_on")}
    after = await http.get(f"/api/v1/customers/{customer['id']}/orders", headers=h)
    assert len(after.json()["items"]) == 2  # nothing of the rejected file was written
    unknown = (
        f"customer_code,order_no,amount,ordered_on\nCUS00000000000,IM{tag}5,1.00,2025-09-02\n"
    ).encode()
    outside = await http.post(url, files={"file": ("o.csv", unknown, "text/csv")}, headers=h)
    assert outside.status_code == 422
    assert outside.json()["error"]["details"]["errors"][0]["field"] == "customer_code"
