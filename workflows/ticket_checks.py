"""Whether a ticket update is allowed now: run by validators, and again under the lock."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from domain.tickets import TicketStatus, note_error, transition_error
from workflows.ticket_types import (
    CollaboratorInput,
    PriorityInput,
    RebindInput,
    StatusInput,
    TicketState,
)

_OPEN = {TicketStatus.PENDING, TicketStatus.PROCESSING, TicketStatus.AWAITING_CUSTOMER}


def conflict(message: str) -> ApplicationError:
    """An update refused by the current state (HTTP 409)."""
    return ApplicationError(message, type="Conflict", non_retryable=True)


def invalid(field: str, message: str) -> ApplicationError:
    """An update with unacceptable input (HTTP 422)."""
    return ApplicationError(message, {"field": field}, type="Invalid", non_retryable=True)


def check_open(state: TicketState | None, verb: str) -> None:
    if state is not None and state.status is TicketStatus.CLOSED:
        raise conflict(f"cannot {verb} a closed ticket")


def check_status_move(state: TicketState | None, inp: StatusInput) -> None:
    if state is not None:
        reason = transition_error(state.status, inp.status)
        if reason:
            raise conflict(reason)
    reason = note_error(inp.status, inp.note)
    if reason:
        raise invalid("note", reason)


def check_priority(state: TicketState | None, inp: PriorityInput) -> None:
    if not inp.reason.strip():
        raise invalid("reason", "a reason is required")
    if state is None:
        return
    if state.status not in _OPEN:
        raise conflict(f"cannot change the priority of a {state.status.value} ticket")
    if state.priority is inp.priority:
        raise conflict(f"priority is already {inp.priority.value}")


def check_collaborator(state: TicketState | None, inp: CollaboratorInput) -> None:
    check_open(state, "add a collaborator to")
    if state is not None and (
        inp.department_id == state.department_id
        or inp.department_id in state.collaborator_department_ids
    ):
        raise conflict("this department already works on the ticket")


def check_reopen(state: TicketState | None) -> None:
    if state is not None and state.status is not TicketStatus.RESOLVED:
        raise conflict(f"only a resolved ticket can be reopened (it is {state.status.value})")


def check_survey(state: TicketState | None) -> None:
    if state is not None and state.status is not TicketStatus.RESOLVED:
        raise conflict(f"the survey is open only while resolved (it is {state.status.value})")


def check_rebind(state: TicketState | None, inp: RebindInput) -> None:
    """A rebind moves an open ticket of the same policy onto a binding it does not have yet."""
    check_open(state, "rebind")
    if state is None:
        return
    if inp.policy.policy_id != state.policy.policy_id:
        raise conflict(f"the ticket is bound to policy {state.policy.policy_id}")
    if (inp.policy.version, inp.calendar_version) == (
        state.policy.version,
        state.calendar_version,
    ):
        raise conflict(f"the ticket is already bound to version {inp.policy.version}")
