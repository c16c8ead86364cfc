"""Per-ticket report facts from the SLA clock's own inputs (policy, calendar, events)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel

from domain.calendar import CalendarSpec
from domain.sla import PolicyVersion, SlaEvent, SlaEventKind, compute

RESOLVED_STATUSES = frozenset({"resolved", "closed"})
_TICK = timedelta(microseconds=1)


class TicketDurations(BaseModel):
    """Durations in whole seconds; None where the moment has not come yet."""

    first_response_business_s: int | None
    first_response_calendar_s: int | None
    resolution_business_s: int | None
    resolution_calendar_s: int | None
    first_response_target_s: int
    resolution_target_s: int
    first_response_met: bool | None
    resolution_met: bool | None


def _seconds(value: timedelta) -> int:
    return int(value.total_seconds())


def ticket_durations(
    policy: PolicyVersion,
    calendar: CalendarSpec,
    events: Sequence[SlaEvent],
    created_at: datetime,
    as_of: datetime,
) -> TicketDurations:
    """First response and resolution of one ticket, business (bound calendar, pauses out) and
    calendar time; resolution sums every resolve cycle, so a reopened ticket counts its rework.
    """
    state = compute(policy, calendar, events, as_of)
    first = state.first_response
    fr_met_at = first.met_at
    # Each earlier cycle is read just before the reopen that ended it.
    reopens = sorted(e.at for e in events if e.kind == SlaEventKind.REOPENED and e.at <= as_of)
    cycles = [compute(policy, calendar, events, at - _TICK).resolution for at in reopens]
    cycles.append(state.resolution)
    resolved_at = state.resolved_at
    resolved = resolved_at is not None
    resolution_met: bool | None
    if any(c.breached for c in cycles):
        resolution_met = False
    elif resolved:
        resolution_met = True
    else:
        resolution_met = None  # still open and not yet due
    if first.breached:
        fr_met: bool | None = False
    else:
        fr_met = True if fr_met_at is not None else None
    fr_target = policy.targets[state.priority].first_response
    return TicketDurations(
        first_response_business_s=_seconds(first.elapsed) if fr_met_at else None,
        first_response_calendar_s=_seconds(fr_met_at - created_at) if fr_met_at else None,
        resolution_business_s=_seconds(sum((c.elapsed for c in cycles), timedelta(0)))
        if resolved
        else None,
        resolution_calendar_s=_seconds(resolved_at - created_at) if resolved_at else None,
        first_response_target_s=_seconds(fr_target),
        resolution_target_s=_seconds(policy.targets[state.priority].resolution),
        first_response_met=fr_met,
        resolution_met=resolution_met,
    )
