"""Report endpoints: parse filters, authorize, run the report service, render JSON or a file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from api.deps import ManagerOrAdmin, Principal, SessionDep, SettingsDep
from core.errors import Invalid, NotFound
from domain.reports.filters import ExportFormat, FilterError, ReportFilters, build_filters
from services.reports.customer_drilldown import CUSTOMER_SEGMENTS, customer_page
from services.reports.drilldown import (
    SEGMENTS,
    TICKET_COLUMNS,
    segment_conditions,
    ticket_csv,
    ticket_page,
)
from services.reports.exports.csv_export import csv_chunks, with_header
from services.reports.exports.pdf_export import pdf_bytes
from services.reports.exports.xlsx_export import xlsx_bytes
from services.reports.scope import OutOfScope, Viewer, scoped
from services.reports.service import UnknownReport, run_report

router = APIRouter(tags=["reports"])

FILTER_KEYS = (
    "from",
    "to",
    "timezone",
    "granularity",
    "department_id",
    "category",
    "channel",
    "priority",
    "tag",
    "owner_id",
    "limit",
)
CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.PDF: "application/pdf",
}


def viewer_of(principal: Principal) -> Viewer:
    return Viewer(principal.user_id, principal.role, principal.department_id)


def parse_filters(query: dict[str, str], tz: str, now: datetime) -> ReportFilters:
    """Filters from the query string; 422 naming the field otherwise."""
    params: dict[str, str | None] = {k: query.get(k) for k in FILTER_KEYS}
    try:
        return build_filters(params, now.astimezone(ZoneInfo(tz)).date(), tz)
    except FilterError as exc:
        raise Invalid(f"query.{exc.field}", str(exc)) from exc


def parse_format(request: Request) -> ExportFormat:
    raw = request.query_params.get("format") or "json"
    try:
        return ExportFormat(raw)
    except ValueError as exc:
        raise Invalid("query.format", "format: one of json, csv, xlsx, pdf") from exc


def attachment(name: str, fmt: ExportFormat, stamp: datetime) -> dict[str, str]:
    return disposition(f"{name}-{stamp.strftime('%Y%m%d%H%M%S')}.{fmt.value}")


def disposition(filename: str) -> dict[str, str]:
    """An attachment header with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987)."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in filename)
    return {
        "Content-Disposition": f'attachment; filename="{fallback}"; '
        f"filename*=UTF-8''{quote(filename, safe='')}"
    }


@router.get("/reports/{name}", response_model=None)
async def get_report(
    name: str,
    request: Request,
    caller: ManagerOrAdmin,
    session: SessionDep,
    settings: SettingsDep,
) -> dict[str, Any] | Response:
    """A report as JSON `{report, filters, generated_at, rows, totals}` or as a file."""
    now = datetime.now(UTC)
    fmt = parse_format(request)
    filters = parse_filters(dict(request.query_params), settings.timezone, now)
    try:
        result = await run_report(session, name, filters, viewer_of(caller), now)
    except UnknownReport as exc:
        raise NotFound(f"no report named {name!r}") from exc
    except OutOfScope as exc:
        raise NotFound("department not found") from exc
    except FilterError as exc:
        raise Invalid(f"query.{exc.field}", str(exc)) from exc
    if fmt is ExportFormat.JSON:
        return result.as_json()
    headers = attachment(name, fmt, now)
    if fmt is ExportFormat.CSV:
        chunks = csv_chunks(result.spec.columns, result.rows)
        return StreamingResponse(chunks, media_type=CONTENT_TYPES[fmt], headers=headers)
    if fmt is ExportFormat.XLSX:
        body = xlsx_bytes([result])
    else:
        body = pdf_bytes([result], result.spec.title_zh, settings.report_font_path)
    return Response(body, media_type=CONTENT_TYPES[fmt], headers=headers)


@router.get("/report-drilldown/tickets", response_model=None)
async def drilldown_tickets(
    request: Request,
    caller: ManagerOrAdmin,
    session: SessionDep,
    settings: SettingsDep,
) -> dict[str, Any] | Response:
    """The tickets behind a report row: pass the row's `tickets_query` as the query string."""
    now = datetime.now(UTC)
    fmt = parse_format(request)
    query = dict(request.query_params)
    segments = {k: query[k] for k in SEGMENTS if k in query}
    if query.get("department_id") == "none":
        segments["department"] = query.pop("department_id")
    filters = parse_filters(query, settings.timezone, now)
    viewer = viewer_of(caller)
    try:
        scoped(filters, viewer)
        segment_conditions(segments, now)  # a bad segment is a 422 before streaming starts
        if fmt is ExportFormat.CSV:
            lines = ticket_csv(session, filters, segments, viewer, now)
            return StreamingResponse(
                with_header(TICKET_COLUMNS, lines),
                media_type=CONTENT_TYPES[fmt],
                headers=attachment("tickets", fmt, now),
            )
        if fmt is not ExportFormat.JSON:
            raise Invalid("query.format", "format: json or csv for a ticket list")
        after, limit = _int_param(query, "after", 0), _int_param(query, "limit", 200)
        items = await ticket_page(
            session, filters, segments, viewer, now, after=after, limit=min(limit, 1000)
        )
    except OutOfScope as exc:
        raise NotFound("department not found") from exc
    except FilterError as exc:
        raise Invalid(f"query.{exc.field}", str(exc)) from exc
    next_after = items[-1]["id"] if len(items) == min(limit, 1000) else None
    return {"items": items, "next_after": next_after}


@router.get("/report-drilldown/customers")
async def drilldown_customers(
    request: Request,
    caller: ManagerOrAdmin,
    session: SessionDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """The customers behind a customer report row: pass its `customers_query`."""
    now = datetime.now(UTC)
    query = dict(request.query_params)
    segments = {k: query[k] for k in CUSTOMER_SEGMENTS if k in query}
    filters = parse_filters(query, settings.timezone, now)
    after, limit = _int_param(query, "after", 0), min(_int_param(query, "limit", 200), 1000)
    try:
        items = await customer_page(
            session, filters, segments, viewer_of(caller), after=after, limit=limit
        )
    except OutOfScope as exc:
        raise NotFound("department not found") from exc
    except FilterError as exc:
        raise Invalid(f"query.{exc.field}", str(exc)) from exc
    return {"items": items, "next_after": items[-1]["id"] if len(items) == limit else None}


def _int_param(query: dict[str, str], key: str, default: int) -> int:
    raw = query.get(key)
    if raw is None:
        return default
    if not raw.isdigit():
        raise Invalid(f"query.{key}", f"{key}: a non-negative integer")
    return int(raw)
