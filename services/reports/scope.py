"""Who may read which report rows, and the SQL conditions the filters turn into."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from domain.reports.filters import ReportFilters


class OutOfScope(Exception):
    """The caller asked for a department outside their scope."""


@dataclass(frozen=True)
class Viewer:
    """A report reader: admins see everything, managers their department."""

    user_id: int
    role: str
    department_id: int | None


def scoped(filters: ReportFilters, viewer: Viewer) -> ReportFilters:
    """Managers are pinned to their department; asking for another one is out of scope."""
    if viewer.role == "admin":
        return filters
    if viewer.department_id is None:
        raise OutOfScope("no department")
    if filters.department_id not in (None, viewer.department_id):
        raise OutOfScope("another department")
    return replace(filters, department_id=viewer.department_id)


def ticket_conditions(f: ReportFilters, alias: str = "f") -> tuple[str, dict[str, Any]]:
    """WHERE clause over ticket_report_facts for the window and dimension filters."""
    parts = [f"{alias}.created_at >= :start", f"{alias}.created_at < :end"]
    params: dict[str, Any] = {"start": f.start, "end": f.end}
    for key, column in (
        ("department_id", "department_id"),
        ("category", "category"),
        ("channel", "channel"),
        ("priority", "priority"),
        ("owner_id", "assignee_id"),
    ):
        value = getattr(f, key)
        if value is not None:
            parts.append(f"{alias}.{column} = :{key}")
            params[key] = value
    if f.tag is not None:
        parts.append(
            f"{alias}.customer_id IN "
            "(SELECT id FROM customers WHERE tags @> ARRAY[:tag]::varchar[])"
        )
        params["tag"] = f.tag
    return " AND ".join(parts), params


def customer_conditions(f: ReportFilters, alias: str = "c") -> tuple[str, dict[str, Any]]:
    """Approved, unmerged customers in the department / of the owner / with the tag."""
    parts = [f"{alias}.approval = 'approved'", f"{alias}.merged_into_id IS NULL"]
    params: dict[str, Any] = {}
    if f.department_id is not None:
        parts.append(f"{alias}.department_id = :department_id")
        params["department_id"] = f.department_id
    if f.owner_id is not None:
        parts.append(f"{alias}.owner_id = :owner_id")
        params["owner_id"] = f.owner_id
    if f.tag is not None:
        parts.append(f"{alias}.tags @> ARRAY[:tag]::varchar[]")
        params["tag"] = f.tag
    return " AND ".join(parts), params


def period_label(column: str) -> str:
    """SQL for the local first day (YYYY-MM-DD) of the period holding `column`.

    Equals `domain.reports.periods` labels: weeks start on Monday (ISO), in the report's zone.
    """
    return f"to_char(date_trunc(:granularity, {column} AT TIME ZONE :tz), 'YYYY-MM-DD')"


def period_params(f: ReportFilters) -> dict[str, Any]:
    return {"granularity": f.granularity.value, "tz": f.timezone}
