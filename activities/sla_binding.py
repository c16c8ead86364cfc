"""Choose the SLA policy version and calendar a new ticket binds to."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import CalendarSpec
from domain.holiday_sources import build_calendar_spec
from domain.sla import PolicyVersion
from models import BusinessCalendar, SlaPolicy, SlaPolicyVersion


def scope_specificity(scope: dict[str, Any], category: str, department_id: int | None) -> int:
    """-1 when the scope excludes the ticket; otherwise higher is more specific."""
    categories = scope.get("categories") or []
    departments = scope.get("departments") or []
    if categories and category not in categories:
        return -1
    if departments and department_id not in departments:
        return -1
    return (2 if categories else 0) + (1 if departments else 0)


async def bind_policy(
    session: AsyncSession, category: str, department_id: int | None, at: datetime
) -> tuple[PolicyVersion, CalendarSpec]:
    """Most specific matching policy wins, else the default; its current version binds."""
    policies = list(await session.scalars(select(SlaPolicy).order_by(SlaPolicy.id)))
    ranked = [
        (scope_specificity(p.scope or {}, category, department_id), p)
        for p in policies
        if p.scope or p.is_default
    ]
    candidates = [(rank, p) for rank, p in ranked if rank >= 0 and (rank > 0 or p.is_default)]
    if not candidates:
        raise LookupError("no default SLA policy configured")
    _, policy = max(
        candidates, key=lambda pair: (pair[0], pair[1].is_default is False, -pair[1].id)
    )
    version = await session.scalar(
        select(SlaPolicyVersion).where(
            SlaPolicyVersion.policy_id == policy.id,
            SlaPolicyVersion.version == policy.current_version,
        )
    )
    assert version is not None, f"policy {policy.id} lacks version {policy.current_version}"
    calendar_row = await session.get(BusinessCalendar, version.calendar_id)
    assert calendar_row is not None
    return (
        policy_from_row(policy, version),
        calendar_from_row(calendar_row, years=range(at.year, at.year + 2)),
    )


def policy_from_row(policy: SlaPolicy, version: SlaPolicyVersion) -> PolicyVersion:
    """The domain policy from its stored API-shaped body."""
    body = dict(version.body)
    revisit = body.pop("revisit", {}) or {}
    return PolicyVersion.model_validate(
        {
            **body,
            "policy_id": policy.id,
            "version": version.version,
            "name": policy.name,
            "revisit_within": revisit.get("confirm_within", "P3D"),
        }
    )


def calendar_from_row(row: BusinessCalendar, years: range) -> CalendarSpec:
    """Concrete calendar data (holidays resolved for `years`) to carry in workflow state."""
    return build_calendar_spec(
        name=row.name,
        timezone=row.timezone,
        working_hours=row.working_hours,
        holidays=row.holidays,
        extra_workdays=[date.fromisoformat(d) for d in row.extra_workdays or []],
        years=years,
    )
