"""Ticket reports over `ticket_report_facts`: one SQL statement each, rows in spec column order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.reports.definitions import AGE_BUCKETS, csat, rate, share
from domain.reports.filters import ReportFilters
from domain.reports.periods import periods
from services.reports.scope import period_label, period_params, ticket_conditions

Row = dict[str, Any]


def drill(f: ReportFilters, **segment: Any) -> dict[str, Any]:
    """The query of /report-drilldown/tickets that lists exactly the row's tickets."""
    return {**f.echo(), **{k: v for k, v in segment.items() if v is not None}}


def _int(value: Any) -> int | None:
    return None if value is None else int(round(float(value)))


async def feedback_types(session: AsyncSession, f: ReportFilters) -> tuple[list[Row], Row]:
    where, params = ticket_conditions(f)
    found = await session.execute(
        text(
            f"SELECT category, count(*) FROM ticket_report_facts f WHERE {where} "
            "GROUP BY category ORDER BY count(*) DESC, category"
        ),
        params,
    )
    counted = [(category, int(n)) for category, n in found]
    total = sum(n for _, n in counted)
    rows = [
        {
            "category": category,
            "count": n,
            "share": share(n, total),
            "tickets_query": drill(f, category=category),
        }
        for category, n in counted
    ]
    return rows, {"count": total}


_DURATION_SQL = """
SELECT priority, department_id, count({b}),
       avg({b}), percentile_cont(0.5) WITHIN GROUP (ORDER BY {b}),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY {b}),
       avg({c}), percentile_cont(0.5) WITHIN GROUP (ORDER BY {c}),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY {c})
FROM ticket_report_facts f WHERE {where} AND {b} IS NOT NULL
GROUP BY priority, department_id
"""
_PRIORITY_ORDER = {"urgent": 0, "normal": 1, "low": 2}


async def processing_time(session: AsyncSession, f: ReportFilters) -> tuple[list[Row], Row]:
    where, params = ticket_conditions(f)
    rows: list[Row] = []
    for measure, prefix in (("first_response", "first_response"), ("resolution", "resolution")):
        sql = _DURATION_SQL.format(b=f"{prefix}_business_s", c=f"{prefix}_calendar_s", where=where)
        for prio, dept, n, avg, p50, p90, cavg, cp50, cp90 in await session.execute(
            text(sql), params
        ):
            rows.append(
                {
                    "priority": prio,
                    "department_id": dept,
                    "measure": measure,
                    "count": int(n),
                    "avg_seconds": _int(avg),
                    "p50_seconds": _int(p50),
                    "p90_seconds": _int(p90),
                    "calendar_avg_seconds": _int(cavg),
                    "calendar_p50_seconds": _int(cp50),
                    "calendar_p90_seconds": _int(cp90),
                    "tickets_query": drill(
                        f,
                        priority=prio,
                        department_id=dept if dept is not None else "none",
                        measure=measure,
                    ),
                }
            )
    rows.sort(
        key=lambda r: (_PRIORITY_ORDER.get(r["priority"], 9), r["department_id"] or 0, r["measure"])
    )
    return rows, {"count": sum(r["count"] for r in rows if r["measure"] == "resolution")}


async def sla_attainment(session: AsyncSession, f: ReportFilters) -> tuple[list[Row], Row]:
    where, params = ticket_conditions(f)
    rows: list[Row] = []
    met_total = breached_total = 0
    for target in ("first_response", "resolution"):
        sql = (
            f"SELECT priority, department_id, max({target}_target_s), "
            f"count(*) FILTER (WHERE {target}_met), count(*) FILTER (WHERE NOT {target}_met) "
            f"FROM ticket_report_facts f WHERE {where} AND {target}_met IS NOT NULL "
            "GROUP BY priority, department_id"
        )
        for prio, dept, target_s, met, breached in await session.execute(text(sql), params):
            met_total, breached_total = met_total + met, breached_total + breached
            rows.append(
                {
                    "priority": prio,
                    "department_id": dept,
                    "target": target,
                    "target_seconds": target_s,
                    "met": int(met),
                    "breached": int(breached),
                    "attainment": rate(int(met), int(met) + int(breached)),
                    "tickets_query": drill(
                        f,
                        priority=prio,
                        department_id=dept if dept is not None else "none",
                        sla_target=target,
                    ),
                }
            )
    rows.sort(
        key=lambda r: (_PRIORITY_ORDER.get(r["priority"], 9), r["department_id"] or 0, r["target"])
    )
    totals = {
        "met": met_total,
        "breached": breached_total,
        "attainment": rate(met_total, met_total + breached_total),
    }
    return rows, totals


async def csat_trend(session: AsyncSession, f: ReportFilters) -> tuple[list[Row], Row]:
    where, params = ticket_conditions(f)
    spans = periods(f)
    sql = f"""
    SELECT {period_label("f.created_at")},
      count(*) FILTER (WHERE f.satisfaction = 'satisfied'),
      count(*) FILTER (WHERE f.satisfaction = 'basically_satisfied'),
      count(*) FILTER (WHERE f.satisfaction = 'unsatisfied')
    FROM ticket_report_facts f
    WHERE {where} AND f.satisfaction IS NOT NULL
    GROUP BY 1
    """
    found = {
        label: (int(a), int(b), int(c))
        for label, a, b, c in await session.execute(text(sql), {**params, **period_params(f)})
    }
    rows: list[Row] = []
    sums = [0, 0, 0]
    for span in spans:
        sat, basic, unsat = found.get(span.label, (0, 0, 0))
        answered = sat + basic + unsat
        sums = [sums[0] + sat, sums[1] + basic, sums[2] + unsat]
        rows.append(
            {
                "period": span.label,
                "satisfied": sat,
                "basically_satisfied": basic,
                "unsatisfied": unsat,
                "answered": answered,
                "csat": csat(sat, basic, answered),
                "tickets_query": _period_query(f, span.start, span.end, answered="true"),
            }
        )
    answered = sum(sums)
    totals = {
        "satisfied": sums[0],
        "basically_satisfied": sums[1],
        "unsatisfied": sums[2],
        "answered": answered,
        "csat": csat(sums[0], sums[1], answered),
    }
    return rows, totals


def _period_query(f: ReportFilters, start: datetime, end: datetime, **segment: Any) -> Row:
    return {**drill(f, **segment), "from": start.isoformat(), "to": end.isoformat()}


async def backlog(session: AsyncSession, f: ReportFilters, now: datetime) -> tuple[list[Row], Row]:
    where, params = ticket_conditions(f)
    cases = " ".join(
        f"WHEN :now - f.created_at < interval '{hi} seconds' THEN '{label}'"
        for label, _, hi in AGE_BUCKETS
        if hi is not None
    )
    sql = (
        f"SELECT f.status, CASE {cases} ELSE '{AGE_BUCKETS[-1][0]}' END AS bucket, count(*) "
        f"FROM ticket_report_facts f WHERE {where} AND NOT f.resolved "
        "GROUP BY 1, 2"
    )
    found = {(s, b): int(n) for s, b, n in await session.execute(text(sql), {**params, "now": now})}
    order = ["pending", "processing", "awaiting_customer"]
    statuses = order + sorted({s for s, _ in found} - set(order))
    rows = [
        {
            "status": status,
            "age_bucket": label,
            "count": found.get((status, label), 0),
            "tickets_query": drill(f, status=status, age_bucket=label),
        }
        for status in statuses
        for label, _, _ in AGE_BUCKETS
    ]
    return rows, {"count": sum(found.values()), "as_of": now.isoformat()}
