"""Drill-down: the tickets behind a report row, by the same conditions the row was counted by."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.reports.definitions import AGE_BUCKETS
from domain.reports.filters import FilterError, ReportFilters
from services.reports.scope import Viewer, scoped, ticket_conditions

SEGMENTS = ("measure", "sla_target", "status", "age_bucket", "keyword", "answered")
TICKET_COLUMNS = (
    "id",
    "number",
    "created_at",
    "category",
    "priority",
    "status",
    "department_id",
    "first_response_business_s",
    "resolution_business_s",
    "satisfaction",
)


def segment_conditions(segments: dict[str, str], now: datetime) -> tuple[list[str], dict[str, Any]]:
    """Conditions for the row-identifying keys a report puts into `tickets_query`."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    if segments.get("department") == "none":
        parts.append("f.department_id IS NULL")
    measure = segments.get("measure")
    if measure is not None:
        if measure not in ("first_response", "resolution"):
            raise FilterError("measure", "measure: first_response or resolution")
        parts.append(f"f.{measure}_business_s IS NOT NULL")
    target = segments.get("sla_target")
    if target is not None:
        if target not in ("first_response", "resolution"):
            raise FilterError("sla_target", "sla_target: first_response or resolution")
        parts.append(f"f.{target}_met IS NOT NULL")
    if segments.get("status") is not None:
        parts.append("f.status = :seg_status AND NOT f.resolved")
        params["seg_status"] = segments["status"]
    bucket = segments.get("age_bucket")
    if bucket is not None:
        found = [b for b in AGE_BUCKETS if b[0] == bucket]
        if not found:
            raise FilterError("age_bucket", "age_bucket: " + ", ".join(b[0] for b in AGE_BUCKETS))
        _, lo, hi = found[0]
        parts.append(f":seg_now - f.created_at >= interval '{lo} seconds'")
        if hi is not None:
            parts.append(f":seg_now - f.created_at < interval '{hi} seconds'")
        params["seg_now"] = now
    if segments.get("keyword") is not None:
        parts.append(":seg_keyword = ANY(f.keywords)")
        params["seg_keyword"] = segments["keyword"]
    if segments.get("answered") == "true":
        parts.append("f.satisfaction IS NOT NULL")
    return parts, params


def _sql(
    filters: ReportFilters, segments: dict[str, str], viewer: Viewer, now: datetime
) -> tuple[str, dict[str, Any]]:
    where, params = ticket_conditions(scoped(filters, viewer))
    extra, extra_params = segment_conditions(segments, now)
    clause = " AND ".join([where, *extra])
    columns = ", ".join(f"t.{c}" if c in ("id", "number") else f"f.{c}" for c in TICKET_COLUMNS)
    sql = (
        f"SELECT {columns} FROM ticket_report_facts f JOIN tickets t ON t.id = f.ticket_id "
        f"WHERE {clause} AND f.ticket_id > :after ORDER BY f.ticket_id"
    )
    return sql, {**params, **extra_params}


async def ticket_page(
    session: AsyncSession,
    filters: ReportFilters,
    segments: dict[str, str],
    viewer: Viewer,
    now: datetime,
    *,
    after: int,
    limit: int,
) -> list[dict[str, Any]]:
    """One keyset page of the row's tickets, oldest id first."""
    sql, params = _sql(filters, segments, viewer, now)
    found = await session.execute(
        text(sql + " LIMIT :limit"), {**params, "after": after, "limit": limit}
    )
    return [dict(zip(TICKET_COLUMNS, values, strict=True)) for values in found]


async def ticket_batches(
    session: AsyncSession,
    filters: ReportFilters,
    segments: dict[str, str],
    viewer: Viewer,
    now: datetime,
    batch: int = 5000,
) -> AsyncIterator[Sequence[Sequence[Any]]]:
    """Every matching ticket through a server-side cursor: memory stays flat at any count."""
    sql, params = _sql(filters, segments, viewer, now)
    result = await session.stream(text(sql), {**params, "after": 0})
    async for part in result.partitions(batch):
        yield [tuple(values) for values in part]
