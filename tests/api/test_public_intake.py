"""The public web-form API, its limits, and cs_system de-duplication of the staff API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.settings import Settings
from models import Ticket
from tests.api.intake_support import anonymous, events, make_category, submit, ticket
from tests.conftest import Member, Org

PUBLIC = "/api/v1/public/feedback"


@asynccontextmanager
async def app_with(
    settings: Settings, engine: AsyncEngine, env: WorkflowEnvironment, **overrides: Any
) -> AsyncIterator[object]:
    """A second app on the same database and worker, with other public settings."""
    application = create_app(
        settings.model_copy(update=overrides), engine=engine, temporal=env.client
    )
    async with application.router.lifespan_context(application):
        yield application


async def act(http: httpx.AsyncClient, admin: Member, number: str, path: str, body: Any) -> None:
    response = await http.post(f"/api/v1/tickets/{number}/{path}", json=body, headers=admin.headers)
    assert response.status_code == 200, response.text


async def test_anonymous_feedback_becomes_a_web_form_ticket_with_the_category_priority(
    app: object, http: httpx.AsyncClient, org: Org
) -> None:
    category = await make_category(http, org.admin, org.department_id, priority="urgent")
    async with anonymous(app) as public:
        created = await submit(
            public,
            category,
            "屏幕一天后就裂了\nThe screen cracked after one day.",
            contact={"name": "李四", "phone": "13912345678", "email": "li@example.com"},
            order_no="SO20240518002",
        )
    assert created["number"].startswith("FB")
    assert len(created["status_token"]) >= 43
    assert created["status_url"].endswith(f"/embed/feedback#token={created['status_token']}")
    staff_view = await ticket(http, org.admin, created["number"])
    assert staff_view["channel"] == "web_form"
    assert staff_view["priority"] == "urgent"
    assert staff_view["category"] == category
    assert staff_view["title"] == "屏幕一天后就裂了"
    assert staff_view["contact"] == {
        "name": "李四",
        "phone": "13912345678",
        "email": "li@example.com",
    }
    assert staff_view["order_no"] == "SO20240518002"
    assert staff_view["department_id"] == org.department_id
    timeline = await events(http, org.admin, created["number"])
    assert timeline[0]["type"] == "created"
    assert timeline[0]["actor"] == "customer"


async def test_status_page_shows_public_progress_but_no_internal_notes_or_staff(
    app: object, http: httpx.AsyncClient, org: Org
) -> None:
    category = await make_category(http, org.admin, org.department_id)
    async with anonymous(app) as public:
        created = await submit(public, category)
        number, admin = created["number"], org.admin
        await act(http, admin, number, "comments", {"body": "internal: blame QA", "public": False})
        await act(http, admin, number, "comments", {"body": "We are replacing it", "public": True})
        await act(
            http, admin, number, "status", {"status": "processing", "note": "secret supplier X"}
        )
        response = await public.get(f"{PUBLIC}/{created['status_token']}")
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["number"] == number
    assert view["status"] == "processing"
    assert view["survey_open"] is False
    shown = [(e["type"], e["by"], e["data"]) for e in view["timeline"]]
    assert ("commented", "staff", {"body": "We are replacing it"}) in shown
    assert ("status_changed", "staff", {"from": "pending", "to": "processing"}) in shown
    raw = json.dumps(view, ensure_ascii=False)
    for secret in ("internal: blame QA", "secret supplier X", "user:", "assignee", "actor"):
        assert secret not in raw
    assert {e["by"] for e in view["timeline"]} <= {"customer", "staff", "system"}


async def test_satisfied_survey_closes_and_a_second_answer_is_refused(
    app: object, http: httpx.AsyncClient, org: Org
) -> None:
    category = await make_category(http, org.admin, org.department_id)
    async with anonymous(app) as public:
        created = await submit(public, category)
        token, number = created["status_token"], created["number"]
        early = await public.post(f"{PUBLIC}/{token}/survey", json={"rating": "satisfied"})
        assert early.status_code == 409
        await act(http, org.admin, number, "status", {"status": "processing", "note": "fixing"})
        await act(http, org.admin, number, "status", {"status": "resolved"})
        status = (await public.get(f"{PUBLIC}/{token}")).json()
        assert status["survey_open"] is True
        answered = await public.post(
            f"{PUBLIC}/{token}/survey", json={"rating": "satisfied", "comment": "谢谢"}
        )
        assert answered.status_code == 200, answered.text
        assert answered.json()["status"] == "closed"
        assert answered.json()["satisfaction"] == "satisfied"
        again = await public.post(f"{PUBLIC}/{token}/survey", json={"rating": "unsatisfied"})
        assert again.status_code == 409


async def test_customer_reply_resumes_a_ticket_awaiting_the_customer(
    app: object, http: httpx.AsyncClient, org: Org
) -> None:
    category = await make_category(http, org.admin, org.department_id)
    async with anonymous(app) as public:
        created = await submit(public, category)
        number, token = created["number"], created["status_token"]
        await act(http, org.admin, number, "status", {"status": "processing", "note": "checking"})
        await act(
            http,
            org.admin,
            number,
            "status",
            {"status": "awaiting_customer", "note": "asked for a photo"},
        )
        replied = await public.post(f"{PUBLIC}/{token}/comments", json={"body": "Photo attached"})
    assert replied.status_code == 200, replied.text
    assert replied.json()["status"] == "processing"
    last = [e for e in await events(http, org.admin, number) if e["type"] == "commented"][-1]
    assert last["actor"] == "customer"
    assert last["data"]["public"] is True


async def test_honeypot_answers_like_success_and_creates_nothing(
    app: object, http: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> None:
    category = await make_category(http, org.admin, org.department_id)
    sessions = async_sessionmaker(engine)
    async with sessions() as session:
        before = await session.scalar(select(func.count()).select_from(Ticket))
    async with anonymous(app) as public:
        trapped = await public.post(
            PUBLIC,
            json={"category": category, "description": "buy pills", "website": "http://spam"},
        )
        assert trapped.status_code == 201
        assert trapped.json()["number"].startswith("FB")
        status = await public.get(f"{PUBLIC}/{trapped.json()['status_token']}")
        assert status.status_code == 404
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == before


async def test_invalid_or_oversized_input_is_422_or_413_never_a_ticket(app: object) -> None:
    async with anonymous(app) as public:
        unknown = await public.post(PUBLIC, json={"category": "nope", "description": "x"})
        assert unknown.status_code == 422
        assert unknown.json()["error"]["details"]["errors"][0]["field"] == "body.category"
        too_long = await public.post(
            PUBLIC, json={"category": "product_quality", "description": "x" * 5001}
        )
        assert too_long.status_code == 422
        assert too_long.json()["error"]["details"]["errors"][0]["field"] == "body.description"
        bad_phone = await public.post(
            PUBLIC,
            json={
                "category": "product_quality",
                "description": "x",
                "contact": {"phone": "call me maybe"},
            },
        )
        assert bad_phone.status_code == 422
        huge = await public.post(
            PUBLIC, json={"category": "product_quality", "description": "x" * 40_000}
        )
        assert huge.status_code == 413
        missing = await public.post(PUBLIC, json={"category": "product_quality"})
        assert missing.status_code == 422


async def test_rate_limits_answer_429_with_retry_after_per_ip_and_per_token(
    app: object,
    http: httpx.AsyncClient,
    org: Org,
    settings: Settings,
    engine: AsyncEngine,
    temporal_env: WorkflowEnvironment,
) -> None:
    category = await make_category(http, org.admin, org.department_id)
    limits = {"public_rate_create_per_ip": 2, "public_rate_per_token": 3}
    async with app_with(settings, engine, temporal_env, **limits) as limited:
        async with anonymous(limited) as public:
            created = await submit(public, category)
            await submit(public, category)
            refused = await public.post(PUBLIC, json={"category": category, "description": "x"})
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "rate_limited"
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
            token_url = f"{PUBLIC}/{created['status_token']}"
            codes = [(await public.get(token_url)).status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
            assert "Retry-After" in (await public.get(token_url)).headers
        async with anonymous(limited) as elsewhere:
            # Another address may still submit; the token stays limited wherever it is used.
            await submit(elsewhere, category)
            assert (await elsewhere.get(token_url)).status_code == 429


async def test_cors_and_frame_ancestors_follow_the_configured_origins(
    app: object, settings: Settings, engine: AsyncEngine, temporal_env: WorkflowEnvironment
) -> None:
    site = "https://shop.example.com"
    origins = {"public_allowed_origins": [site]}
    async with (
        app_with(settings, engine, temporal_env, **origins) as embed,
        anonymous(embed) as browser,
    ):
        preflight = await browser.options(
            PUBLIC,
            headers={
                "Origin": site,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == site
        listed = await browser.get("/api/v1/public/categories", headers={"Origin": site})
        assert listed.headers["access-control-allow-origin"] == site
        assert {"product_quality", "price_objection"} <= {c["code"] for c in listed.json()}
        stranger = await browser.get(
            "/api/v1/public/categories", headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in stranger.headers
        staff = await browser.get("/api/v1/tickets", headers={"Origin": site})
        assert "access-control-allow-origin" not in staff.headers
        page = await browser.get("/embed/feedback")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {site}" in csp
    assert "script-src 'sha256-" in csp
    assert "unsafe-inline" not in csp


async def test_same_external_conversation_never_makes_two_tickets(
    http: httpx.AsyncClient, org: Org
) -> None:
    body = {
        "title": "Chat 8812: refund not received",
        "description": "Customer says the refund is two weeks late.",
        "category": "price_objection",
        "channel": "cs_system",
        "department_id": org.department_id,
        "source": "zendesk",
        "external_id": f"conv-{org.department_id}",
    }
    headers = org.manager.headers
    first = await http.post("/api/v1/tickets", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["channel"] == "cs_system"
    again = await http.post("/api/v1/tickets", json=body, headers=headers)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    burst = await asyncio.gather(
        *[
            http.post("/api/v1/tickets", json={**body, "external_id": "burst"}, headers=headers)
            for _ in range(5)
        ]
    )
    assert {r.status_code for r in burst} <= {200, 201}
    assert len({r.json()["id"] for r in burst}) == 1
    other_source = await http.post(
        "/api/v1/tickets", json={**body, "source": "freshdesk"}, headers=headers
    )
    assert other_source.status_code == 201
    assert other_source.json()["id"] != first.json()["id"]
    half = await http.post(
        "/api/v1/tickets", json={**body, "source": None, "external_id": "x"}, headers=headers
    )
    assert half.status_code == 422
