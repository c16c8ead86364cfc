"""Drill-down of customer reports: the customers a row counted, by the row's own conditions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.reports.filters import FilterError, ReportFilters
from services.reports.scope import Viewer, customer_conditions, scoped

CUSTOMER_SEGMENTS = ("activity", "created", "customer_id")
CUSTOMER_COLUMNS = ("id", "code", "name", "stage", "department_id", "owner_id", "created_at")


def _segment(segments: dict[str, str]) -> tuple[list[str], dict[str, Any]]:
    parts: list[str] = []
    params: dict[str, Any] = {}
    if segments.get("activity") is not None:
        if segments["activity"] != "active":
            raise FilterError("activity", "activity: active")
        parts.append(
            "EXISTS (SELECT 1 FROM customer_interactions x WHERE x.customer_id = c.id "
            "AND x.at >= :start AND x.at < :end)"
        )
    if segments.get("created") == "true":
        parts.append("c.created_at >= :start AND c.created_at < :end")
    raw_id = segments.get("customer_id")
    if raw_id is not None:
        if not raw_id.isdigit() or not 0 < int(raw_id) < 2**63:
            raise FilterError("customer_id", "customer_id: a positive integer")
        parts.append("c.id = :customer_id")
        params["customer_id"] = int(raw_id)
    return parts, params


async def customer_page(
    session: AsyncSession,
    filters: ReportFilters,
    segments: dict[str, str],
    viewer: Viewer,
    *,
    after: int,
    limit: int,
) -> list[dict[str, Any]]:
    """One keyset page (by id) of the customers behind a customer report's row."""
    f = scoped(filters, viewer)
    where, params = customer_conditions(f)
    extra, extra_params = _segment(segments)
    sql = (
        f"SELECT {', '.join(f'c.{c}' for c in CUSTOMER_COLUMNS)} FROM customers c "
        f"WHERE {' AND '.join([where, *extra])} AND c.id > :after ORDER BY c.id LIMIT :limit"
    )
    bind = {**params, **extra_params, "start": f.start, "end": f.end, "after": after}
    found = await session.execute(text(sql), {**bind, "limit": limit})
    items = [dict(zip(CUSTOMER_COLUMNS, values, strict=True)) for values in found]
    for item in items:
        item["created_at"] = item["created_at"].isoformat()
    return items
