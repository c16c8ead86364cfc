"""Who may read reports, and how bad filters and unknown names are answered."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings
from tests.api.customer_support import build_team
from tests.api.report_support import WINDOW, Seeded, seed_week
from tests.conftest import Org


@pytest.fixture(scope="module")
async def team(app: object, settings: Settings) -> Org:
    return await build_team(app, settings, "rpta")


@pytest.fixture(scope="module")
async def other(app: object, settings: Settings) -> Org:
    return await build_team(app, settings, "rptb")


@pytest.fixture(scope="module")
async def weeks(team: Org, other: Org, engine: AsyncEngine) -> tuple[Seeded, Seeded]:
    return await seed_week(engine, team.department_id), await seed_week(engine, other.department_id)


async def test_manager_sees_only_their_department(
    http: httpx.AsyncClient, team: Org, other: Org, weeks: tuple[Seeded, Seeded]
) -> None:
    mine = await http.get(
        "/api/v1/reports/feedback-types", params=WINDOW, headers=team.manager.headers
    )
    assert mine.status_code == 200
    assert mine.json()["totals"]["count"] == 6
    assert mine.json()["filters"]["department_id"] == team.department_id
    theirs = await http.get(
        "/api/v1/reports/feedback-types",
        params={**WINDOW, "department_id": other.department_id},
        headers=team.manager.headers,
    )
    assert theirs.status_code == 404
    drill = await http.get(
        "/api/v1/report-drilldown/tickets",
        params={**WINDOW, "department_id": other.department_id},
        headers=team.manager.headers,
    )
    assert drill.status_code == 404


async def test_admin_sees_every_department(
    http: httpx.AsyncClient, team: Org, weeks: tuple[Seeded, Seeded]
) -> None:
    body = await http.get(
        "/api/v1/reports/feedback-types", params=WINDOW, headers=team.admin.headers
    )
    assert body.status_code == 200
    assert body.json()["totals"]["count"] >= 12


async def test_agents_are_refused_and_unknown_reports_are_404(
    http: httpx.AsyncClient, team: Org
) -> None:
    agent = await http.get("/api/v1/reports/kpis", headers=team.agent.headers)
    assert agent.status_code == 403
    assert (
        await http.get("/api/v1/report-drilldown/tickets", headers=team.agent.headers)
    ).status_code == 403
    unknown = await http.get("/api/v1/reports/nonsense", headers=team.manager.headers)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2025-13-01"}, "query.from"),
        ({"to": "yesterday"}, "query.to"),
        ({"from": "2025-10-05", "to": "2025-10-01"}, "query.from"),
        ({"granularity": "hour"}, "query.granularity"),
        ({"department_id": "abc"}, "query.department_id"),
        ({"priority": "critical"}, "query.priority"),
        ({"channel": "fax"}, "query.channel"),
        ({"owner_id": "-3"}, "query.owner_id"),
        ({"format": "docx"}, "query.format"),
        ({"timezone": "Mars/Olympus"}, "query.timezone"),
        ({"from": "2000-01-01", "to": "2025-01-01", "granularity": "day"}, "query.from"),
        ({"from": "2020-01-01", "to": "2025-01-01", "granularity": "day"}, "query.granularity"),
    ],
)
async def test_bad_filters_are_422_naming_the_field(
    http: httpx.AsyncClient, team: Org, params: dict[str, str], field: str
) -> None:
    response = await http.get(
        "/api/v1/reports/csat-trend", params=params, headers=team.admin.headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["errors"][0]["field"] == field
