"""Top issues (category + keyword from the tickets' texts) and the KPI row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.reports.definitions import PROFILE_FIELDS, csat, rate
from domain.reports.filters import ReportFilters
from services.reports.scope import customer_conditions, ticket_conditions
from services.reports.ticket_reports import Row, drill

TOP_ISSUES = 10
EXAMPLES = 3


async def top_issues(session: AsyncSession, f: ReportFilters) -> tuple[list[Row], Row]:
    """The ten most frequent (category, keyword) pairs, with the keywords that co-occur most."""
    where, params = ticket_conditions(f)
    # One hash aggregate for the counts, then one join of the top issues with their tickets
    # for the examples and co-occurring keywords (no sort of every keyword row).
    sql = f"""
    WITH w AS NOT MATERIALIZED (
      SELECT f.ticket_id, f.category, f.keywords FROM ticket_report_facts f WHERE {where}
    ), top AS (
      SELECT w.category, kw, count(*) AS n
      FROM w, unnest(w.keywords) AS kw
      GROUP BY w.category, kw
      ORDER BY n DESC, w.category, kw
      LIMIT {TOP_ISSUES}
    ), m AS MATERIALIZED (
      SELECT t.category, t.kw, w.ticket_id, w.keywords
      FROM top t JOIN w ON w.category = t.category AND t.kw = ANY(w.keywords)
    ), ex AS (
      SELECT category, kw, (array_agg(ticket_id ORDER BY ticket_id))[1:{EXAMPLES}] AS ids
      FROM m GROUP BY category, kw
    ), co AS (
      SELECT category, kw, k2,
             row_number() OVER (PARTITION BY category, kw ORDER BY count(*) DESC, k2) AS r
      FROM m, unnest(m.keywords) AS k2
      WHERE k2 <> kw
      GROUP BY category, kw, k2
    )
    SELECT t.category, t.kw, t.n, ex.ids,
           coalesce(array_agg(co.k2 ORDER BY co.r) FILTER (WHERE co.r <= 2), '{{}}')
    FROM top t
    JOIN ex ON ex.category = t.category AND ex.kw = t.kw
    LEFT JOIN co ON co.category = t.category AND co.kw = t.kw
    GROUP BY t.category, t.kw, t.n, ex.ids
    ORDER BY t.n DESC, t.category, t.kw
    """
    rows = [
        {
            "category": category,
            "keywords": [kw, *others],
            "count": int(n),
            "example_ticket_ids": list(examples),
            "tickets_query": drill(f, category=category, keyword=kw),
        }
        for category, kw, n, examples, others in await session.execute(text(sql), params)
    ]
    return rows, {"issues": len(rows)}


def _filled(field: str) -> str:
    if field == "primary_contact":
        return (
            "(EXISTS (SELECT 1 FROM customer_contacts cc "
            "WHERE cc.customer_id = c.id AND cc.is_primary))::int"
        )
    if field in ("owner_id", "founded_on"):
        return f"(c.{field} IS NOT NULL)::int"
    return f"(coalesce(btrim(c.{field}), '') <> '')::int"


async def kpis(session: AsyncSession, f: ReportFilters) -> tuple[list[Row], Row]:
    """The KPI row; each figure's definition is in the README table."""
    twhere, tparams = ticket_conditions(f)
    tickets = (
        await session.execute(
            text(
                "SELECT count(*), count(*) FILTER (WHERE resolved), "
                "count(*) FILTER (WHERE resolved AND reopened), "
                "avg(resolution_business_s) FILTER (WHERE resolved), "
                "count(*) FILTER (WHERE satisfaction = 'satisfied'), "
                "count(*) FILTER (WHERE satisfaction = 'basically_satisfied'), "
                "count(*) FILTER (WHERE satisfaction IS NOT NULL) "
                f"FROM ticket_report_facts f WHERE {twhere}"
            ),
            tparams,
        )
    ).one()
    total, resolved, reopened, handling, sat, basic, answered = tickets
    cwhere, cparams = customer_conditions(f)
    cparams = {**cparams, "start": f.start.date(), "end": f.end.date(), "end_ts": f.end}
    filled = " + ".join(_filled(field) for field in PROFILE_FIELDS)
    customers = (
        await session.execute(
            text(
                f"SELECT count(*), coalesce(sum({filled}), 0), "
                "count(*) FILTER (WHERE c.stage = 'lost') "
                f"FROM customers c WHERE {cwhere} AND c.created_at < :end_ts"
            ),
            cparams,
        )
    ).one()
    n_customers, filled_sum, lost = customers
    buyers = (
        await session.execute(
            text(
                "SELECT count(*), count(*) FILTER (WHERE b.orders >= 2) FROM ("
                "  SELECT o.customer_id, (SELECT count(*) FROM customer_orders o2"
                "    WHERE o2.customer_id = o.customer_id AND o2.ordered_on < :end) AS orders"
                "  FROM customer_orders o JOIN customers c ON c.id = o.customer_id"
                f"  WHERE o.ordered_on >= :start AND o.ordered_on < :end AND {cwhere}"
                "  GROUP BY o.customer_id) b"
            ),
            cparams,
        )
    ).one()
    slots = int(n_customers) * len(PROFILE_FIELDS)
    row: Row = {
        "tickets": int(total),
        "profile_completeness": rate(int(filled_sum), slots),
        "csat": csat(int(sat), int(basic), int(answered)),
        "resolution_rate": rate(int(resolved), int(total)),
        "reopen_rate": rate(int(reopened), int(resolved)),
        "avg_handling_seconds": None if handling is None else int(round(float(handling))),
        "repurchase_rate": rate(int(buyers[1]), int(buyers[0])),
        "churn_rate": rate(int(lost), int(n_customers)),
        "tickets_query": drill(f),
    }
    totals: dict[str, Any] = {
        "tickets": int(total),
        "resolved": int(resolved),
        "answered": int(answered),
        "customers": int(n_customers),
        "buyers": int(buyers[0]),
    }
    return [row], totals
