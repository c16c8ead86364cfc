"""Ticket vocabulary and the status machine."""

from __future__ import annotations

from enum import StrEnum


class TicketStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    AWAITING_CUSTOMER = "awaiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Channel(StrEnum):
    WEB_FORM = "web_form"
    API = "api"
    STAFF = "staff"
    CS_SYSTEM = "cs_system"
    EMAIL = "email"


class SurveyRating(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    UNSATISFIED = "unsatisfied"


# Moves staff may make with POST /status; reopen and the revisit have their own updates.
ALLOWED_TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.PENDING: frozenset({TicketStatus.PROCESSING}),
    TicketStatus.PROCESSING: frozenset({TicketStatus.AWAITING_CUSTOMER, TicketStatus.RESOLVED}),
    TicketStatus.AWAITING_CUSTOMER: frozenset({TicketStatus.PROCESSING, TicketStatus.RESOLVED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}

# Statuses whose move needs a note: the solution plan, or the customer's answer.
NOTE_REQUIRED: frozenset[TicketStatus] = frozenset(
    {TicketStatus.PROCESSING, TicketStatus.AWAITING_CUSTOMER}
)

OPEN_STATUSES: frozenset[TicketStatus] = frozenset(
    {TicketStatus.PENDING, TicketStatus.PROCESSING, TicketStatus.AWAITING_CUSTOMER}
)


def transition_error(current: TicketStatus, target: TicketStatus) -> str | None:
    """Why `current → target` is refused (a 409), or None when it is allowed."""
    if target == current:
        return f"ticket is already {current.value}"
    if target not in ALLOWED_TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in ALLOWED_TRANSITIONS[current])) or "none"
        return f"cannot move from {current.value} to {target.value} (allowed: {allowed})"
    return None


def note_error(target: TicketStatus, note: str | None) -> str | None:
    """Why the note is unacceptable for moving to `target` (a 422), or None."""
    if target in NOTE_REQUIRED and not (note and note.strip()):
        return f"moving to {target.value} requires a note"
    return None


def format_ticket_number(day_yyyymmdd: str, sequence: int) -> str:
    """FB + yyyymmdd + a daily sequence of at least three digits (grows past 999)."""
    return f"FB{day_yyyymmdd}{sequence:03d}"
