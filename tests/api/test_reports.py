"""Report numbers on a hand-computed week: a paused ticket, a reopened one, a holiday."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings
from tests.api.customer_support import build_team
from tests.api.report_support import WINDOW, Seeded, seed_week
from tests.conftest import Org


@pytest.fixture(scope="module")
async def team(app: object, settings: Settings) -> Org:
    return await build_team(app, settings, "rpt")


@pytest.fixture(scope="module")
async def week(team: Org, engine: AsyncEngine) -> Seeded:
    return await seed_week(engine, team.department_id)


async def report(http: httpx.AsyncClient, team: Org, name: str, **params: Any) -> dict[str, Any]:
    query = {**WINDOW, "department_id": team.department_id, **params}
    response = await http.get(f"/api/v1/reports/{name}", params=query, headers=team.admin.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def by(rows: list[dict[str, Any]], *keys: str) -> dict[Any, dict[str, Any]]:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in rows}


async def test_feedback_types_count_and_share_per_category(
    http: httpx.AsyncClient, team: Org, week: Seeded
) -> None:
    body = await report(http, team, "feedback-types")
    rows = by(body["rows"], "category")
    assert {k: (r["count"], r["share"]) for k, r in rows.items()} == {
        "产品质量": (3, 0.5),
        "功能建议": (2, 0.3333),
        "服务态度": (1, 0.1667),
    }
    assert body["totals"] == {"count": 6}
    assert body["report"] == "feedback-types"
    assert body["filters"]["department_id"] == team.department_id


async def test_processing_time_in_business_and_calendar_seconds(
    http: httpx.AsyncClient, team: Org, week: Seeded
) -> None:
    rows = by((await report(http, team, "processing-time"))["rows"], "priority", "measure")
    normal_fr = rows[("normal", "first_response")]
    # T1 1 h, T3 2 h across the holiday (41 h calendar), T6 30 min.
    assert (normal_fr["count"], normal_fr["avg_seconds"], normal_fr["p50_seconds"]) == (
        3,
        4200,
        3600,
    )
    assert normal_fr["p90_seconds"] == 6480
    assert normal_fr["calendar_avg_seconds"] == (3600 + 147600 + 1800) // 3
    # The paused ticket: 3 h of business time, 7 h on the wall clock.
    urgent_res = rows[("urgent", "resolution")]
    assert (urgent_res["count"], urgent_res["avg_seconds"]) == (1, 10800)
    assert urgent_res["calendar_avg_seconds"] == 25200
    # The reopened ticket: 8 h + 2 h over its two cycles; 26 h from creation to the last fix.
    low_res = rows[("low", "resolution")]
    assert (low_res["avg_seconds"], low_res["calendar_avg_seconds"]) == (36000, 93600)
    normal_res = rows[("normal", "resolution")]
    assert (normal_res["count"], normal_res["avg_seconds"], normal_res["p90_seconds"]) == (
        2,
        25200,
        30960,
    )


async def test_sla_attainment_counts_decided_targets_only(
    http: httpx.AsyncClient, team: Org, week: Seeded
) -> None:
    body = await report(http, team, "sla-attainment")
    rows = by(body["rows"], "priority", "target")
    urgent_fr = rows[("urgent", "first_response")]
    assert (urgent_fr["met"], urgent_fr["breached"], urgent_fr["attainment"]) == (1, 1, 50.0)
    assert urgent_fr["target_seconds"] == 7200
    assert (rows[("normal", "first_response")]["met"], rows[("normal", "resolution")]["met"]) == (
        3,
        2,
    )
    assert rows[("low", "resolution")]["met"] == 1
    assert (rows[("urgent", "resolution")]["met"], rows[("urgent", "resolution")]["breached"]) == (
        1,
        0,
    )
    assert body["totals"]["breached"] == 1


async def test_csat_trend_per_week_and_per_day(
    http: httpx.AsyncClient, team: Org, week: Seeded
) -> None:
    weekly = await report(http, team, "csat-trend", granularity="week")
    assert [
        (r["period"], r["satisfied"], r["basically_satisfied"], r["unsatisfied"], r["csat"])
        for r in weekly["rows"]
    ] == [("2025-09-29", 2, 1, 1, 75.0)]
    daily = by((await report(http, team, "csat-trend"))["rows"], "period")
    assert len(daily) == 7
    assert daily["2025-09-29"]["csat"] == 100.0
    assert daily["2025-09-30"]["csat"] == 50.0
    assert daily["2025-10-01"]["answered"] == 0
    assert daily["2025-10-01"]["csat"] is None


async def test_backlog_counts_open_tickets_by_status_and_age(
    http: httpx.AsyncClient, team: Org, week: Seeded
) -> None:
    rows = by((await report(http, team, "backlog"))["rows"], "status", "age_bucket")
    assert rows[("pending", ">7d")]["count"] == 1
    assert rows[("processing", ">7d")]["count"] == 1
    assert sum(r["count"] for r in rows.values()) == 2


async def test_top_issues_segment_chinese_with_the_user_dictionary(
    http: httpx.AsyncClient, team: Org, week: Seeded
) -> None:
    rows = (await report(http, team, "top-issues"))["rows"]
    assert len(rows) <= 10
    scanner = next(r for r in rows if r["keywords"][0] == "扫码枪")
    assert scanner["category"] == "产品质量"
    assert scanner["count"] == 2
    assert scanner["example_ticket_ids"] == sorted([week.tickets["T1"], week.tickets["T2"]])
    assert "蓝牙" in scanner["keywords"]
    assert all("无法" not in r["keywords"] for r in rows)  # a built-in stop word


async def test_kpis_follow_the_readme_definitions(
    http: httpx.AsyncClient, team: Org, week: Seeded
) -> None:
    body = await report(http, team, "kpis")
    (row,) = body["rows"]
    assert row["resolution_rate"] == 66.67  # 4 of 6
    assert row["reopen_rate"] == 25.0  # 1 of 4 resolved
    assert row["avg_handling_seconds"] == (18000 + 10800 + 32400 + 36000) // 4
    assert row["csat"] == 75.0
    assert row["repurchase_rate"] == 50.0  # C1 bought again, C2 once
    assert row["churn_rate"] == 33.33  # C3 of three
    # C1 lacks only an owner, C2 has only its industry, C3 nothing: (7 + 1 + 0) of 24 fields.
    assert row["profile_completeness"] == 33.33


async def test_customer_activity_funnel_and_high_value(
    http: httpx.AsyncClient, team: Org, week: Seeded
) -> None:
    activity = await report(http, team, "customer-activity", granularity="week")
    assert [
        (r["interactions"], r["active_customers"], r["silent_customers"]) for r in activity["rows"]
    ] == [(3, 2, 0)]
    daily = by((await report(http, team, "customer-activity"))["rows"], "period")
    assert (daily["2025-09-29"]["active_customers"], daily["2025-09-29"]["silent_customers"]) == (
        1,
        1,
    )
    funnel = await report(
        http,
        team,
        "conversion-funnel",
        **{"from": "2025-09-01", "to": "2025-09-30"},
        granularity="month",
    )
    (month,) = funnel["rows"]
    assert (month["leads"], month["intentions"], month["deals"], month["lost"]) == (3, 2, 1, 1)
    assert (month["intention_rate"], month["deal_rate"], month["lost_rate"]) == (
        66.67,
        33.33,
        33.33,
    )
    ranked = (await report(http, team, "high-value"))["rows"]
    assert [(r["customer_id"], r["monetary"], r["recency_days"]) for r in ranked] == [
        (week.customers["C1"], "2500.50", 5),
        (week.customers["C2"], "300.00", 3),
    ]


async def test_every_row_drills_down_to_exactly_its_tickets(
    http: httpx.AsyncClient, team: Org, week: Seeded
) -> None:
    for name in ("feedback-types", "processing-time", "sla-attainment", "backlog", "top-issues"):
        for row in (await report(http, team, name))["rows"]:
            listed = await http.get(
                "/api/v1/report-drilldown/tickets",
                params=row["tickets_query"],
                headers=team.manager.headers,
            )
            assert listed.status_code == 200, listed.text
            ids = [t["id"] for t in listed.json()["items"]]
            expected = row.get("count", (row.get("met", 0) + row.get("breached", 0)))
            assert len(ids) == expected, (name, row)


async def test_tag_and_channel_filters_narrow_the_tickets(
    http: httpx.AsyncClient, team: Org, week: Seeded
) -> None:
    body = await report(http, team, "feedback-types", channel="web_form")
    assert body["totals"]["count"] == 2
    body = await report(http, team, "feedback-types", tag="report-vip")
    assert body["totals"]["count"] == 0  # no seeded ticket is linked to a customer


async def test_customer_rows_drill_down_to_exactly_their_customers(
    http: httpx.AsyncClient, team: Org, week: Seeded
) -> None:
    async def listed(query: dict[str, Any]) -> list[int]:
        response = await http.get(
            "/api/v1/report-drilldown/customers", params=query, headers=team.manager.headers
        )
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    for row in (await report(http, team, "customer-activity"))["rows"]:
        assert len(await listed(row["customers_query"])) == row["active_customers"], row
    funnel = await report(
        http,
        team,
        "conversion-funnel",
        **{"from": "2025-09-01", "to": "2025-09-30"},
        granularity="month",
    )
    (month,) = funnel["rows"]
    assert sorted(await listed(month["customers_query"])) == sorted(week.customers.values())
    top = (await report(http, team, "high-value"))["rows"][0]
    assert await listed(top["customers_query"]) == [week.customers["C1"]]
