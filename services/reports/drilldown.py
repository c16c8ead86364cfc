"""Drill-down: the tickets behind a report row, by the same conditions the row was counted by."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.reports.definitions import AGE_BUCKETS
from domain.reports.filters import FilterError, ReportFilters
from services.reports.scope import Viewer, scoped, ticket_conditions

CHUNK_BYTES = 256 * 1024
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


# Instants as Python's isoformat() writes them in UTC, so the CSV equals the JSON.
_ISO_UTC = (
    "to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
    "extract(microseconds FROM {c})::bigint % 1000000 = 0 THEN '' "
    "ELSE to_char({c} AT TIME ZONE 'UTC', '.US') END || '+00:00'"
)


def _sql(
    filters: ReportFilters,
    segments: dict[str, str],
    viewer: Viewer,
    now: datetime,
    *,
    as_text: bool = False,
) -> tuple[str, dict[str, Any]]:
    where, params = ticket_conditions(scoped(filters, viewer))
    extra, extra_params = segment_conditions(segments, now)
    clause = " AND ".join([where, *extra])

    def column(name: str) -> str:
        if name in ("id", "number"):
            return f"t.{name}"
        if name == "created_at" and as_text:
            return _ISO_UTC.format(c="f.created_at")
        return f"f.{name}"

    sql = (
        f"SELECT {', '.join(column(c) for c in TICKET_COLUMNS)} "
        "FROM ticket_report_facts f JOIN tickets t ON t.id = f.ticket_id "
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
    items = [dict(zip(TICKET_COLUMNS, values, strict=True)) for values in found]
    for item in items:
        item["created_at"] = item["created_at"].astimezone(UTC).isoformat()
    return items


async def ticket_csv(
    session: AsyncSession,
    filters: ReportFilters,
    segments: dict[str, str],
    viewer: Viewer,
    now: datetime,
) -> AsyncIterator[bytes]:
    """Every matching ticket as CSV rows straight from Postgres (COPY): flat memory, no cap."""
    sql, params = _sql(filters, segments, viewer, now, as_text=True)
    params = {**params, "after": 0}
    statement = sql.replace("%", "%%")
    for name in params:  # our own bind names only: `HH24:MI:SS` stays as it is
        statement = re.sub(rf"(?<!:):{name}\b", f"%({name})s", statement)
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    pg = raw.driver_connection
    assert pg is not None
    async with pg.cursor() as cursor:
        copy_sql = f"COPY ({statement}) TO STDOUT WITH (FORMAT csv)"
        async with cursor.copy(copy_sql, params) as copy:
            buffer = bytearray()
            async for data in copy:  # one row per item: send them in larger chunks
                buffer += data
                if len(buffer) >= CHUNK_BYTES:
                    yield bytes(buffer)
                    buffer.clear()
            if buffer:
                yield bytes(buffer)
