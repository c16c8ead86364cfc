"""Console scoping: the same rules as the API; another department's ticket is a 404."""

from __future__ import annotations

import httpx

from tests.conftest import Member, Org, make_department
from tests.console.support import console_login


async def test_agent_gets_404_on_another_departments_ticket_page(
    http: httpx.AsyncClient, org: Org, admin: Member
) -> None:
    other = await make_department(http, admin, "elsewhere")
    created = await http.post(
        "/api/v1/tickets",
        json={
            "title": "Elsewhere",
            "description": "Belongs to the other department.",
            "category": "product_quality",
            "priority": "normal",
            "channel": "staff",
            "department_id": other.department_id,
        },
        headers=other.manager.headers,
    )
    assert created.status_code == 201, created.text
    ticket = created.json()
    await console_login(http, org.agent.email, "password-123")
    page = await http.get(f"/console/tickets/{ticket['id']}")
    assert page.status_code == 404
    assert ticket["number"] not in page.text
    by_number = await http.get(f"/console/tickets/{ticket['number']}/timeline")
    assert by_number.status_code == 404
    listing = await http.get("/console/tickets", params={"q": ticket["number"]})
    assert listing.status_code == 200
    assert 'data-testid="ticket-row"' not in listing.text


async def test_unassigned_department_ticket_is_in_the_agents_queue_with_a_badge(
    http: httpx.AsyncClient, org: Org
) -> None:
    created = await http.post(
        "/api/v1/tickets",
        json={
            "title": "Queue me",
            "description": "Unassigned in the agent's department.",
            "category": "product_quality",
            "priority": "urgent",
            "channel": "staff",
            "department_id": org.department_id,
        },
        headers=org.manager.headers,
    )
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    await console_login(http, org.agent.email, "password-123")
    home = await http.get("/console/?lang=en")
    assert home.status_code == 200
    assert f'data-number="{number}"' in home.text
    assert 'data-testid="sla-badge" data-state="ok"' in home.text
    assert "My queue" in home.text
    again = await http.get("/console/")  # the choice is remembered
    assert "My queue" in again.text


async def test_ticket_page_masks_the_phone_unless_the_role_may_see_it(
    app: object, org: Org
) -> None:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://test") as manager,
        httpx.AsyncClient(transport=transport, base_url="http://test") as agent,
    ):
        created = await manager.post(
            "/api/v1/tickets",
            json={
                "title": "Call me back",
                "description": "Please phone me.",
                "category": "product_quality",
                "priority": "normal",
                "channel": "staff",
                "department_id": org.department_id,
                "contact": {"name": "Li Si", "phone": "13912345678"},
            },
            headers=org.manager.headers,
        )
        assert created.status_code == 201, created.text
        path = f"/console/tickets/{created.json()['id']}"
        await console_login(manager, org.manager.email, "password-123")
        await console_login(agent, org.agent.email, "password-123")
        assert "13912345678" in (await manager.get(path)).text
        masked = (await agent.get(path)).text
        assert "Li Si" in masked
        assert "13912345678" not in masked
