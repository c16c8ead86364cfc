"""Runs a named report for a viewer: scope, query, and the JSON-shaped result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.reports.definitions import REPORTS, ReportSpec
from domain.reports.filters import ReportFilters
from services.reports import customer_reports, issue_reports, ticket_reports
from services.reports.scope import Viewer, scoped
from services.reports.ticket_reports import Row

REPORT_WORK_MEM = "64MB"


class UnknownReport(LookupError):
    """No report has this name."""


Query = Callable[[AsyncSession, ReportFilters], Awaitable[tuple[list[Row], Row]]]

_QUERIES: dict[str, Query] = {
    "feedback-types": ticket_reports.feedback_types,
    "processing-time": ticket_reports.processing_time,
    "sla-attainment": ticket_reports.sla_attainment,
    "csat-trend": ticket_reports.csat_trend,
    "top-issues": issue_reports.top_issues,
    "customer-activity": customer_reports.customer_activity,
    "conversion-funnel": customer_reports.conversion_funnel,
    "high-value": customer_reports.high_value,
    "kpis": issue_reports.kpis,
}


@dataclass(frozen=True)
class ReportResult:
    spec: ReportSpec
    filters: ReportFilters
    generated_at: datetime
    rows: list[Row]
    totals: Row

    def as_json(self) -> dict[str, Any]:
        return {
            "report": self.spec.name,
            "filters": self.filters.echo(),
            "generated_at": self.generated_at.isoformat(),
            "rows": self.rows,
            "totals": self.totals,
        }


def spec_for(name: str) -> ReportSpec:
    spec = REPORTS.get(name)
    if spec is None:
        raise UnknownReport(name)
    return spec


async def run_report(
    session: AsyncSession, name: str, filters: ReportFilters, viewer: Viewer, now: datetime
) -> ReportResult:
    """The report's rows within the viewer's scope (managers: their department)."""
    spec = spec_for(name)
    effective = scoped(filters, viewer)
    # Sorts and hashes of a report (percentiles, keyword counts) stay in memory.
    await session.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))
    if name == "backlog":
        rows, totals = await ticket_reports.backlog(session, effective, now)
    else:
        rows, totals = await _QUERIES[name](session, effective)
    return ReportResult(spec, effective, now, rows, totals)
