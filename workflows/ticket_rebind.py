"""Moving a ticket onto another policy version: clocks recomputed from its own history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.sla_view import sla_summary
from workflows.ticket_effects import Effect
from workflows.ticket_types import RebindInput, TicketState


def _due(target: dict[str, Any]) -> str | None:
    due = target["due_at"]
    return due.isoformat() if isinstance(due, datetime) else None


def rebind(state: TicketState, inp: RebindInput, now: datetime) -> Effect:
    """Swap the binding in `state`; the `policy_rebound` event with old and new due times.

    Fired action keys stay: a breach already recorded is not recorded again, and a breach
    the new version puts in the past fires at the next wake-up, once.
    """
    before = sla_summary(state.policy, state.calendar, state.sla_events, now)
    from_version, from_calendar = state.policy.version, state.calendar_version
    state.policy, state.calendar = inp.policy, inp.calendar
    state.calendar_version = inp.calendar_version
    after = sla_summary(state.policy, state.calendar, state.sla_events, now)
    data: dict[str, Any] = {
        "policy_id": inp.policy.policy_id,
        "from_version": from_version,
        "to_version": inp.policy.version,
        "from_calendar_version": from_calendar,
        "to_calendar_version": inp.calendar_version,
        "rollout_id": inp.rollout_id,
        "first_response": {
            "from_due_at": _due(before.first_response),
            "to_due_at": _due(after.first_response),
        },
        "resolution": {
            "from_due_at": _due(before.resolution),
            "to_due_at": _due(after.resolution),
        },
    }
    return Effect("policy_rebound", inp.actor, data)
