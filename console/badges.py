"""SLA badges: the state a row shows and the order of the queue (at risk first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.tickets.schemas import TicketOut

# A clock with less than this share of its time left shows as a warning.
WARNING_SHARE = 0.25
_RANK = {"breached": 0, "warning": 1, "ok": 2, "paused": 3, "none": 4}


@dataclass(frozen=True)
class Badge:
    """What the SLA badge shows: a state and the deadline the countdown runs to."""

    state: str  # ok | warning | breached | paused | none (no SLA bound)
    due_at: datetime | None
    remaining_seconds: int


def badge(ticket: TicketOut) -> Badge:
    """The running clock's state: first response until met, then resolution."""
    sla = ticket.sla
    if sla is None:
        return Badge("none", None, 0)
    target = sla.first_response if sla.first_response.met_at is None else sla.resolution
    if sla.paused:
        return Badge("paused", target.due_at, target.remaining_seconds)
    if sla.first_response.breached or sla.resolution.breached or target.remaining_seconds < 0:
        return Badge("breached", target.due_at, target.remaining_seconds)
    if target.due_at is not None:
        total = (target.due_at - ticket.created_at).total_seconds()
        if total > 0 and target.remaining_seconds < total * WARNING_SHARE:
            return Badge("warning", target.due_at, target.remaining_seconds)
    return Badge("ok", target.due_at, target.remaining_seconds)


def at_risk_first(rows: list[tuple[TicketOut, Badge]]) -> list[tuple[TicketOut, Badge]]:
    """Breached, then warning, then ok; within a state the nearest deadline first."""
    return sorted(rows, key=lambda row: (_RANK[row[1].state], row[1].remaining_seconds))
