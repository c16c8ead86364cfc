"""Choose the SLA policy version and calendar version a ticket binds to, as concrete data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import CalendarSpec
from domain.holiday_sources import build_calendar_spec
from domain.policy_admin import scope_rank
from domain.sla import PolicyVersion
from models import BusinessCalendar, CalendarVersion, Customer, SlaPolicy, SlaPolicyVersion


@dataclass(frozen=True)
class Binding:
    policy: PolicyVersion
    calendar: CalendarSpec
    calendar_version: int


def scope_specificity(scope: dict[str, Any], category: str, department_id: int | None) -> int:
    """-1 when the scope excludes the ticket; otherwise higher is more specific."""
    return scope_rank(scope, category, department_id, None)


async def bind_policy(
    session: AsyncSession,
    category: str,
    department_id: int | None,
    at: datetime,
    customer_id: int | None = None,
) -> Binding:
    """Most specific matching policy wins (older first on a tie), else the default."""
    tier = None
    if customer_id is not None:
        tier = await session.scalar(select(Customer.tier).where(Customer.id == customer_id))
    policies = list(await session.scalars(select(SlaPolicy).order_by(SlaPolicy.id)))
    ranked = [
        (scope_rank(p.scope or {}, category, department_id, tier), p)
        for p in policies
        if p.scope or p.is_default
    ]
    candidates = [(rank, p) for rank, p in ranked if rank >= 0 and (rank > 0 or p.is_default)]
    if not candidates:
        raise LookupError("no default SLA policy configured")
    _, policy = max(
        candidates, key=lambda pair: (pair[0], pair[1].is_default is False, -pair[1].id)
    )
    return await binding_for(session, policy, policy.current_version, range(at.year, at.year + 2))


async def binding_for(
    session: AsyncSession, policy: SlaPolicy, version_number: int, years: range
) -> Binding:
    """A stored policy version with its calendar at the calendar's current version."""
    version = await session.scalar(
        select(SlaPolicyVersion).where(
            SlaPolicyVersion.policy_id == policy.id, SlaPolicyVersion.version == version_number
        )
    )
    assert version is not None, f"policy {policy.id} lacks version {version_number}"
    calendar_row = await session.get(BusinessCalendar, version.calendar_id)
    assert calendar_row is not None
    return Binding(
        policy_from_row(policy, version),
        calendar_from_row(calendar_row, years=years),
        calendar_row.current_version,
    )


def policy_from_row(policy: SlaPolicy, version: SlaPolicyVersion) -> PolicyVersion:
    """The domain policy from its stored API-shaped body."""
    return policy_from_body(policy.id, version.version, policy.name, version.body)


def policy_from_body(
    policy_id: int, version: int, name: str, stored: dict[str, Any]
) -> PolicyVersion:
    """The domain policy from an API-shaped body (targets, warn_at, escalation, ...)."""
    body = dict(stored)
    revisit = body.pop("revisit", {}) or {}
    for key in ("name", "calendar_id", "scope", "is_default"):
        body.pop(key, None)
    return PolicyVersion.model_validate(
        {
            **body,
            "policy_id": policy_id,
            "version": version,
            "name": name,
            "revisit_within": revisit.get("confirm_within", "P3D"),
        }
    )


def calendar_from_row(row: BusinessCalendar | CalendarVersion, years: range) -> CalendarSpec:
    """Concrete calendar data (holidays resolved for `years`) to carry in workflow state."""
    if isinstance(row, CalendarVersion):
        return calendar_from_body(row.body, years)
    return build_calendar_spec(
        name=row.name,
        timezone=row.timezone,
        working_hours=row.working_hours,
        holidays=row.holidays,
        extra_workdays=[date.fromisoformat(d) for d in row.extra_workdays or []],
        years=years,
    )


def calendar_from_body(body: dict[str, Any], years: range) -> CalendarSpec:
    """A stored calendar version body as concrete data."""
    return build_calendar_spec(
        name=body["name"],
        timezone=body["timezone"],
        working_hours=body["working_hours"],
        holidays=body["holidays"],
        extra_workdays=[date.fromisoformat(d) for d in body.get("extra_workdays") or []],
        years=years,
    )
