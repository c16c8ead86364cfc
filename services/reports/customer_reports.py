"""Customer reports: activity, conversion funnel and the RFM high-value ranking."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.reports.definitions import rate
from domain.reports.filters import ReportFilters
from domain.reports.periods import periods
from services.reports.scope import customer_conditions, period_label, period_params
from services.reports.ticket_reports import Row


def customers_query(f: ReportFilters, **segment: Any) -> dict[str, Any]:
    """The query of /report-drilldown/customers that lists exactly the row's customers."""
    return {**f.echo(), **{k: v for k, v in segment.items() if v is not None}}


async def customer_activity(session: AsyncSession, f: ReportFilters) -> tuple[list[Row], Row]:
    """Interactions, customers touched (active) and customers in scope untouched (silent)."""
    where, params = customer_conditions(f)
    spans = periods(f)
    params = {**params, **period_params(f), "start": f.start, "end": f.end}
    touched = f"""
    SELECT {period_label("x.at")}, count(*), count(DISTINCT x.customer_id)
    FROM customer_interactions x JOIN customers c ON c.id = x.customer_id
    WHERE x.at >= :start AND x.at < :end AND {where}
    GROUP BY 1
    """
    # Customers in scope (not lost) by the end of each period: those before the window plus
    # a running sum of those created inside it.
    grown = f"""
    SELECT {period_label("c.created_at")}, count(*) FROM customers c
    WHERE c.created_at >= :start AND c.created_at < :end AND c.stage <> 'lost' AND {where}
    GROUP BY 1
    """
    before = await session.scalar(
        text(
            f"SELECT count(*) FROM customers c WHERE {where} AND c.stage <> 'lost' "
            "AND c.created_at < :start"
        ),
        params,
    )
    in_scope = int(before or 0)
    added = {label: int(n) for label, n in await session.execute(text(grown), params)}
    counts = {
        label: (int(n), int(active))
        for label, n, active in await session.execute(text(touched), params)
    }
    rows: list[Row] = []
    for span in spans:
        interactions, active = counts.get(span.label, (0, 0))
        in_scope += added.get(span.label, 0)
        window = {"from": span.start.isoformat(), "to": span.end.isoformat()}
        rows.append(
            {
                "period": span.label,
                "interactions": interactions,
                "active_customers": active,
                "silent_customers": max(in_scope - active, 0),
                "customers_query": {**customers_query(f, activity="active"), **window},
            }
        )
    return rows, {"interactions": sum(n for n, _ in counts.values())}


async def conversion_funnel(session: AsyncSession, f: ReportFilters) -> tuple[list[Row], Row]:
    """Customers created in each period, by the stage they have reached since."""
    where, params = customer_conditions(f)
    params = {**params, **period_params(f), "start": f.start, "end": f.end}
    sql = f"""
    SELECT {period_label("c.created_at")}, count(*),
      count(*) FILTER (WHERE c.stage IN ('intention', 'deal')),
      count(*) FILTER (WHERE c.stage = 'deal'),
      count(*) FILTER (WHERE c.stage = 'lost')
    FROM customers c
    WHERE c.created_at >= :start AND c.created_at < :end AND {where}
    GROUP BY 1
    """
    found = {
        label: [int(v) for v in values]
        for label, *values in await session.execute(text(sql), params)
    }
    rows: list[Row] = []
    sums = [0, 0, 0, 0]
    for span in periods(f):
        counts = found.get(span.label, [0, 0, 0, 0])
        sums = [a + b for a, b in zip(sums, counts, strict=True)]
        rows.append(
            {
                "period": span.label,
                "leads": counts[0],
                "intentions": counts[1],
                "deals": counts[2],
                "lost": counts[3],
                "intention_rate": rate(counts[1], counts[0]),
                "deal_rate": rate(counts[2], counts[0]),
                "lost_rate": rate(counts[3], counts[0]),
                "customers_query": {
                    **customers_query(f, created="true"),
                    "from": span.start.isoformat(),
                    "to": span.end.isoformat(),
                },
            }
        )
    totals = {
        "leads": sums[0],
        "intentions": sums[1],
        "deals": sums[2],
        "lost": sums[3],
        "intention_rate": rate(sums[1], sums[0]),
        "deal_rate": rate(sums[2], sums[0]),
        "lost_rate": rate(sums[3], sums[0]),
    }
    return rows, totals


async def high_value(session: AsyncSession, f: ReportFilters) -> tuple[list[Row], Row]:
    """Customers with orders in the window ranked by money, then frequency, then recency."""
    where, params = customer_conditions(f)
    params = {**params, "start": f.start.date(), "end": f.end.date(), "limit": f.limit}
    sql = f"""
    WITH b AS (
      SELECT o.customer_id, count(*) AS frequency, sum(o.amount) AS monetary,
             (:end - 1) - max(o.ordered_on) AS recency_days
      FROM customer_orders o JOIN customers c ON c.id = o.customer_id
      WHERE o.ordered_on >= :start AND o.ordered_on < :end AND {where}
      GROUP BY o.customer_id
    ), s AS (
      SELECT b.*, ntile(5) OVER (ORDER BY recency_days DESC) AS r_score,
             ntile(5) OVER (ORDER BY frequency) AS f_score,
             ntile(5) OVER (ORDER BY monetary) AS m_score,
             row_number() OVER (
               ORDER BY monetary DESC, frequency DESC, recency_days, customer_id) AS rank
      FROM b
    )
    SELECT s.rank, s.customer_id, c.code, c.name, s.recency_days, s.frequency, s.monetary,
           s.r_score, s.f_score, s.m_score, (SELECT count(*) FROM b)
    FROM s JOIN customers c ON c.id = s.customer_id
    WHERE s.rank <= :limit ORDER BY s.rank
    """
    rows: list[Row] = []
    ranked = 0
    for rank, cid, code, name, recency, freq, money, r, fs, m, n in await session.execute(
        text(sql), params
    ):
        ranked = int(n)
        rows.append(
            {
                "rank": int(rank),
                "customer_id": int(cid),
                "code": code,
                "name": name,
                "recency_days": int(recency),
                "frequency": int(freq),
                "monetary": str(money),
                "r_score": int(r),
                "f_score": int(fs),
                "m_score": int(m),
                "rfm": f"{r}{fs}{m}",
                "customers_query": customers_query(f, customer_id=int(cid)),
            }
        )
    return rows, {"customers_with_orders": ranked}
