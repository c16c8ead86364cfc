"""Scheduled reports on the dev server: the Temporal Schedule, a fired run, its file and notice."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import ScheduleOverlapPolicy
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from core.db import make_sessionmaker
from core.settings import Settings
from models import Notification
from tests.api.customer_support import build_team
from tests.conftest import Org
from tests.notify_support import eventually


@pytest.fixture(scope="module")
async def team(app: object, settings: Settings) -> Org:
    return await build_team(app, settings, "rsch")


def body(team: Org, **overrides: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": "周报",
        "reports": ["kpis", "feedback-types"],
        "cadence": "weekly",
        "recipients": [team.manager.id],
        "format": "pdf",
        "timezone": "Asia/Shanghai",
    }
    out.update(overrides)
    return out


async def test_weekly_schedule_fires_mondays_at_nine_local_and_its_run_is_listed(
    http: httpx.AsyncClient, team: Org, temporal_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    h = team.manager.headers
    created = await http.post("/api/v1/report-schedules", json=body(team), headers=h)
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["department_id"] == team.department_id
    assert schedule["schedule_id"] == f"report-schedule-{schedule['id']}"
    local = ZoneInfo("Asia/Shanghai")
    nxt = schedule["next_run_at"]
    when = datetime.fromisoformat(nxt).astimezone(local)
    assert (when.weekday(), when.hour, when.minute) == (0, 9, 0)
    handle = temporal_env.client.get_schedule_handle(schedule["schedule_id"])
    described = await handle.describe()
    assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert described.schedule.policy.catchup_window == timedelta(days=1)
    assert described.schedule.spec.time_zone_name == "Asia/Shanghai"
    await handle.trigger()

    async def listed() -> bool:
        runs = await http.get(
            "/api/v1/report-runs",
            params={"schedule_id": schedule["id"]},
            headers=team.manager.headers,
        )
        return bool(runs.json()) and runs.json()[0]["status"] == "done"

    await eventually(listed, "the triggered run")
    (run,) = (
        await http.get(
            "/api/v1/report-runs",
            params={"schedule_id": schedule["id"]},
            headers=team.manager.headers,
        )
    ).json()
    start = datetime.fromisoformat(run["period_start"])
    assert start.weekday() == 0  # the previous Monday–Sunday week
    assert (datetime.fromisoformat(run["period_end"]) - start).days == 6
    file = await http.get(f"/api/v1/report-runs/{run['id']}/file", headers=team.manager.headers)
    assert file.status_code == 200
    assert file.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''%E5%91%A8%E6%8A%A5" in file.headers["content-disposition"]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(file.content)).pages)
    assert "关键指标" in text

    async def notices() -> list[Notification]:
        async with make_sessionmaker(engine)() as session:
            found = await session.scalars(
                select(Notification).where(
                    Notification.template == "report_ready",
                    Notification.user_id == team.manager.id,
                )
            )
            return list(found)

    async def noticed() -> bool:
        return bool(await notices())

    await eventually(noticed, "the in-app notice of the run")
    (notice,) = await notices()
    assert notice.payload["run_id"] == run["id"]
    outsider = await http.get(f"/api/v1/report-runs/{run['id']}/file", headers=team.agent.headers)
    assert outsider.status_code == 404

    gone = await http.delete(
        f"/api/v1/report-schedules/{schedule['id']}", headers=team.manager.headers
    )
    assert gone.status_code == 204
    with pytest.raises(RPCError):
        await handle.describe()


async def test_monthly_schedule_fires_on_the_first(
    http: httpx.AsyncClient, team: Org, temporal_env: WorkflowEnvironment
) -> None:
    created = await http.post(
        "/api/v1/report-schedules",
        json=body(team, cadence="monthly", format="xlsx", timezone="America/New_York"),
        headers=team.admin.headers,
    )
    assert created.status_code == 201, created.text
    when = datetime.fromisoformat(created.json()["next_run_at"]).astimezone(
        ZoneInfo("America/New_York")
    )
    assert (when.day, when.hour) == (1, 9)
    listed = await http.get("/api/v1/report-schedules", headers=team.admin.headers)
    assert created.json()["id"] in [s["id"] for s in listed.json()]
    await http.delete(
        f"/api/v1/report-schedules/{created.json()['id']}", headers=team.admin.headers
    )


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"reports": ["nonsense"]}, "body.reports.0"),
        ({"timezone": "Mars/Olympus"}, "body.timezone"),
        ({"recipients": [999999]}, "body.recipients.0"),
        ({"cadence": "daily"}, "cadence"),
        ({"format": "csv"}, "format"),
    ],
)
async def test_bad_schedules_are_422_naming_the_field(
    http: httpx.AsyncClient, team: Org, patch: dict[str, Any], field: str
) -> None:
    response = await http.post(
        "/api/v1/report-schedules", json=body(team, **patch), headers=team.manager.headers
    )
    assert response.status_code == 422, response.text
    assert field in response.text


async def test_agents_may_not_schedule_and_managers_stay_in_their_department(
    http: httpx.AsyncClient, team: Org, org: Org
) -> None:
    refused = await http.post(
        "/api/v1/report-schedules", json=body(team), headers=team.agent.headers
    )
    assert refused.status_code == 403
    elsewhere = await http.post(
        "/api/v1/report-schedules",
        json=body(team, department_id=org.department_id),
        headers=team.manager.headers,
    )
    assert elsewhere.status_code == 404
