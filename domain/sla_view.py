"""The `sla` block the API shows, derived from the same clock the workflow runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from domain.calendar import CalendarSpec
from domain.sla import PolicyVersion, SlaEvent, TargetState, compute


class SlaSummary(BaseModel):
    policy_id: int
    policy_version: int
    first_response: dict[str, Any]
    resolution: dict[str, Any]
    paused: bool
    breached: bool


def _target_view(target: TargetState) -> dict[str, Any]:
    return {
        "due_at": target.due_at,
        "met_at": target.met_at,
        "breached": target.breached,
        "remaining_seconds": int(target.remaining.total_seconds()),
    }


def sla_summary(
    policy: PolicyVersion, calendar: CalendarSpec, events: Sequence[SlaEvent], now: datetime
) -> SlaSummary:
    """Due times, met times, breach flags and remaining business seconds at `now`."""
    state = compute(policy, calendar, events, now)
    return SlaSummary(
        policy_id=policy.policy_id,
        policy_version=policy.version,
        first_response=_target_view(state.first_response),
        resolution=_target_view(state.resolution),
        paused=state.paused,
        breached=state.first_response.breached or state.resolution.breached,
    )
