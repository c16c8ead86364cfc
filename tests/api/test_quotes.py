"""Quotes over HTTP: Decimal totals, 409 steps, approval by rules, public answer once, PDF."""

from __future__ import annotations

import io
from typing import Any

import httpx
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.sales.links import link_token
from models import Customer, Need, QuoteEvent
from tests.api.customer_support import create_customer, unique
from tests.conftest import TEST_SECRET, Org

API = "/api/v1"
PUBLIC_KEY = TEST_SECRET.encode()


async def _quote(http: httpx.AsyncClient, who: Any, customer_id: int, **extra: Any) -> Any:
    body = {
        "customer_id": customer_id,
        "valid_until": "2099-01-01T00:00:00+08:00",
        "lines": [
            {"name": "巡检服务", "quantity": "3", "unit_price": "0.1"},
            {"name": "实施费", "quantity": "1", "unit_price": "100.00", "discount_pct": "33.33"},
        ],
        **extra,
    }
    response = await http.post(f"{API}/quotes", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _rule(http: httpx.AsyncClient, org: Org, **body: Any) -> int:
    response = await http.post(
        f"{API}/quote-approval-rules",
        json={"name": unique("rule"), **body},
        headers=org.admin.headers,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_totals_are_decimal_strings_rounded_half_up(
    http: httpx.AsyncClient, org: Org
) -> None:
    customer = await create_customer(http, org.agent)
    quote = await _quote(http, org.agent, customer["id"])
    assert quote["number"].startswith("QT")
    assert len(quote["number"]) == 13
    assert (quote["version"], quote["status"]) == (1, "draft")
    assert [line["amount"] for line in quote["lines"]] == ["0.30", "66.67"]
    assert (quote["subtotal"], quote["discount_total"], quote["total"]) == (
        "100.30",
        "33.33",
        "66.97",
    )


async def test_forbidden_steps_are_409(http: httpx.AsyncClient, org: Org) -> None:
    customer = await create_customer(http, org.agent)
    quote = await _quote(http, org.agent, customer["id"])
    qid, h = quote["id"], org.agent.headers
    for path, body in (
        ("send", None),
        ("decide", {"decision": "approve"}),
        ("revise", None),
    ):
        response = await http.post(f"{API}/quotes/{qid}/{path}", json=body, headers=h)
        assert response.status_code == 409, (path, response.text)
    token = link_token(PUBLIC_KEY, "quote", qid)
    # Not sent yet: the public page does not exist.
    assert (await http.get(f"{API}/public/quotes/{token}")).status_code == 404


async def test_approval_by_amount_then_public_accept_once(
    http: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> None:
    customer = await create_customer(http, org.agent, name=unique("成都天府软件有限公司"))
    need = await http.post(
        f"{API}/customers/{customer['id']}/needs",
        json={"kind": "service", "description": "需要一套工单系统"},
        headers=org.agent.headers,
    )
    assert need.status_code == 201, need.text
    rule = await _rule(http, org, level=1, min_total="1000000000.00", approver_id=org.manager.id)
    try:
        big = await _quote(
            http,
            org.agent,
            customer["id"],
            need_id=need.json()["id"],
            lines=[{"name": "平台许可", "quantity": "1", "unit_price": "1000000000.01"}],
        )
        qid = big["id"]
        submitted = await http.post(f"{API}/quotes/{qid}/submit", headers=org.agent.headers)
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["status"] == "pending_approval"
        assert submitted.json()["approval_level"] == 1
        again = await http.post(f"{API}/quotes/{qid}/submit", headers=org.agent.headers)
        assert again.status_code == 409
        # The agent is not the approver the rule names.
        denied = await http.post(
            f"{API}/quotes/{qid}/decide", json={"decision": "approve"}, headers=org.agent.headers
        )
        assert denied.status_code == 403, denied.text
        no_reason = await http.post(
            f"{API}/quotes/{qid}/decide", json={"decision": "reject"}, headers=org.manager.headers
        )
        assert no_reason.status_code == 422
        approved = await http.post(
            f"{API}/quotes/{qid}/decide",
            json={"decision": "approve", "reason": "战略客户"},
            headers=org.manager.headers,
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"
    finally:
        await http.delete(f"{API}/quote-approval-rules/{rule}", headers=org.admin.headers)

    sent = await http.post(f"{API}/quotes/{qid}/send", headers=org.agent.headers)
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "sent"
    async with AsyncEngine.connect(engine) as conn:
        link = (
            await conn.execute(
                select(QuoteEvent.data).where(QuoteEvent.quote_id == qid, QuoteEvent.type == "sent")
            )
        ).scalar_one()["link"]
    token = link.rsplit("/", 1)[1]
    page = await http.get(f"{API}/public/quotes/{token}")
    assert page.status_code == 200, page.text
    assert page.json()["customer_name"] == customer["name"]
    assert page.json()["total"] == "1000000000.01"
    assert (await http.get(f"{API}/public/quotes/{token}x")).status_code == 404
    bad = await http.post(f"{API}/public/quotes/1.abc/respond", json={"response": "accept"})
    assert bad.status_code == 404

    accepted = await http.post(
        f"{API}/public/quotes/{token}/respond", json={"response": "accept", "comment": "同意"}
    )
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["status"], accepted.json()["answered"]) == ("accepted", True)
    second = await http.post(f"{API}/public/quotes/{token}/respond", json={"response": "decline"})
    assert second.status_code == 409
    async with AsyncEngine.connect(engine) as conn:
        need_status = await conn.scalar(select(Need.status).where(Need.id == need.json()["id"]))
        stage = await conn.scalar(select(Customer.stage).where(Customer.id == customer["id"]))
    assert (need_status, stage) == ("won", "deal")


async def test_small_quote_is_approved_on_submit_and_revisions_keep_versions(
    http: httpx.AsyncClient, org: Org
) -> None:
    customer = await create_customer(http, org.agent)
    quote = await _quote(http, org.agent, customer["id"])
    qid = quote["id"]
    submitted = await http.post(f"{API}/quotes/{qid}/submit", headers=org.agent.headers)
    assert submitted.json()["status"] == "approved"
    revised = await http.post(
        f"{API}/quotes/{qid}/revise",
        json={"lines": [{"name": "实施费", "quantity": "1.5", "unit_price": "0.03"}]},
        headers=org.agent.headers,
    )
    assert revised.status_code == 201, revised.text
    new = revised.json()
    assert (new["number"], new["version"], new["status"]) == (quote["number"], 2, "draft")
    assert new["total"] == "0.05"  # 0.045 rounds half-up
    old = await http.get(f"{API}/quotes/{qid}", headers=org.agent.headers)
    assert (old.json()["status"], old.json()["superseded_by_id"]) == ("approved", new["id"])
    # The superseded version takes no more steps.
    assert (
        await http.post(f"{API}/quotes/{qid}/send", headers=org.agent.headers)
    ).status_code == 409
    versions = await http.get(f"{API}/quotes/{new['id']}/versions", headers=org.agent.headers)
    assert [v["version"] for v in versions.json()] == [1, 2]


async def test_pdf_carries_the_chinese_customer_name(http: httpx.AsyncClient, org: Org) -> None:
    name = unique("深圳前海示范贸易有限公司")
    customer = await create_customer(http, org.agent, name=name)
    quote = await _quote(http, org.agent, customer["id"], note="含一年质保 <b>")
    response = await http.get(f"{API}/quotes/{quote['id']}/pdf", headers=org.agent.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert name in text
    assert quote["number"] in text
    assert "66.97" in text


async def test_quotes_outside_scope_are_404(http: httpx.AsyncClient, org: Org) -> None:
    customer = await create_customer(http, org.agent)
    quote = await _quote(http, org.agent, customer["id"])
    other = await http.get(f"{API}/quotes/{quote['id']}", headers=org.other_agent.headers)
    assert other.status_code == 404
    bad = await http.post(
        f"{API}/quotes",
        json={
            "customer_id": customer["id"],
            "valid_until": "2099-01-01T00:00:00Z",
            "lines": [{"name": "x", "quantity": "1", "unit_price": "1e400"}],
        },
        headers=org.agent.headers,
    )
    assert bad.status_code == 422


async def test_a_revised_quote_link_stops_answering(http: httpx.AsyncClient, org: Org) -> None:
    customer = await create_customer(http, org.agent)
    quote = await _quote(http, org.agent, customer["id"])
    qid = quote["id"]
    for step in ("submit", "send"):
        response = await http.post(f"{API}/quotes/{qid}/{step}", headers=org.agent.headers)
        assert response.status_code == 200, response.text
    token = link_token(PUBLIC_KEY, "quote", qid)
    assert (await http.get(f"{API}/public/quotes/{token}")).status_code == 200
    revised = await http.post(f"{API}/quotes/{qid}/revise", headers=org.agent.headers)
    assert revised.status_code == 201, revised.text
    assert (await http.get(f"{API}/public/quotes/{token}")).status_code == 404
    late = await http.post(f"{API}/public/quotes/{token}/respond", json={"response": "accept"})
    assert late.status_code == 404
