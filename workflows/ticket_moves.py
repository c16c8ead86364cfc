"""Status moves of a ticket: they change its state and describe the timeline event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow

from domain.routing import DispatchDecision, DispatchOutcome
from domain.sla import SlaEvent, SlaEventKind
from domain.tickets import TicketStatus
from workflows.ticket_checks import conflict
from workflows.ticket_effects import Effect
from workflows.ticket_types import (
    AssignInput,
    CommentInput,
    CreatedRecord,
    NewTicket,
    TicketState,
)


def dispatched(s: TicketState, decision: DispatchDecision) -> Effect | None:
    """The timeline event of a dispatch decision: the rule and strategy that made it."""
    if decision.outcome is DispatchOutcome.UNROUTED or decision.department_id is None:
        return None
    s.department_id = decision.department_id
    data: dict[str, Any] = {
        "department_id": decision.department_id,
        "rule_id": decision.rule_id,
        "strategy": decision.strategy.value if decision.strategy else None,
    }
    if decision.outcome is DispatchOutcome.ASSIGNED:
        s.assignee_id = decision.assignee_id
        data["assignee_id"] = decision.assignee_id
        return Effect("dispatched", "system", data, notify=[("ticket_assigned", "assignee")])
    data["reason"] = decision.reason
    return Effect("queued", "system", data, notify=[("ticket_queued", "department_manager")])


def move(s: TicketState, target: TicketStatus, actor: str, note: str | None) -> Effect:
    now = workflow.now()
    previous = s.status
    s.status = target
    if previous is TicketStatus.AWAITING_CUSTOMER:
        s.sla_events.append(SlaEvent(kind=SlaEventKind.RESUMED, at=now))
    if target is TicketStatus.AWAITING_CUSTOMER:
        s.sla_events.append(SlaEvent(kind=SlaEventKind.PAUSED, at=now))
    elif target is TicketStatus.RESOLVED:
        s.resolved_at = now
        s.sla_events.append(SlaEvent(kind=SlaEventKind.RESOLVED, at=now))
    elif target is TicketStatus.CLOSED:
        return close(s, actor, "closed_by_staff", note=note, previous=previous)
    data = {"from": previous.value, "to": target.value, "note": note}
    notify = [("revisit_requested", "customer")] if target is TicketStatus.RESOLVED else []
    return Effect("status_changed", actor, data, progress=True, notify=notify)


def reopen(s: TicketState, actor: str, reason: str, *, redispatch: bool = False) -> Effect:
    now = workflow.now()
    s.status = TicketStatus.PROCESSING
    s.reopen_count += 1
    s.resolved_at = None
    s.escalation_level = 0
    s.sla_events.append(SlaEvent(kind=SlaEventKind.REOPENED, at=now))
    data: dict[str, Any] = {"reason": reason, "reopen_count": s.reopen_count}
    notify = []
    if redispatch:
        # Back to the department queue, where its manager re-dispatches it.
        data["from_assignee_id"] = s.assignee_id
        s.assignee_id = None
        notify.append(("ticket_reopened", "department_manager"))
    elif s.assignee_id is not None:
        notify.append(("ticket_reopened", "assignee"))
    return Effect("reopened", actor, data, progress=True, notify=notify)


def close(
    s: TicketState,
    actor: str,
    reason: str,
    *,
    note: str | None = None,
    previous: TicketStatus | None = None,
) -> Effect:
    now = workflow.now()
    previous = previous or s.status
    s.status = TicketStatus.CLOSED
    s.closed_at = now
    s.sla_events.append(SlaEvent(kind=SlaEventKind.CLOSED, at=now))
    return Effect("closed", actor, {"from": previous.value, "reason": reason, "note": note})


def created_state(new: NewTicket, record: CreatedRecord) -> TicketState:
    """The state of a ticket just inserted, bound to the policy and calendar it got."""
    return TicketState(
        ticket_id=record.ticket_id,
        number=new.number,
        category=new.category,
        priority=new.priority,
        department_id=new.department_id,
        assignee_id=new.assignee_id,
        created_at=record.created_at,
        updated_at=record.created_at,
        seq=1,
        policy=record.policy,
        calendar=record.calendar,
        calendar_version=record.calendar_version,
        sla_events=[
            SlaEvent(kind=SlaEventKind.CREATED, at=record.created_at, priority=new.priority)
        ],
    )


def assigned(s: TicketState, inp: AssignInput) -> Effect:
    """Move the ticket to a department and/or assignee; 409 when nothing changes."""
    data: dict[str, Any] = {}
    if inp.department_id is not None and inp.department_id != s.department_id:
        data.update(from_department_id=s.department_id, department_id=inp.department_id)
        s.department_id = inp.department_id
        if inp.assignee_id is None:
            s.assignee_id = None
    if inp.assignee_id is not None and inp.assignee_id != s.assignee_id:
        data.update(from_assignee_id=s.assignee_id, assignee_id=inp.assignee_id)
        s.assignee_id = inp.assignee_id
    if not data:
        raise conflict("the ticket already has this assignment")
    notes = []
    if "assignee_id" in data:
        notes.append(("ticket_assigned", str(inp.assignee_id)))
    return Effect("assigned", inp.actor, data, progress=True, notify=notes)


def commented(s: TicketState, inp: CommentInput, now: datetime) -> list[Effect]:
    """A comment; a customer's resumes or reopens, a public staff one is the first response."""
    effects = [Effect("commented", inp.actor, {"body": inp.body, "public": inp.public})]
    if inp.by_customer:
        if s.status is TicketStatus.AWAITING_CUSTOMER:
            effects.append(move(s, TicketStatus.PROCESSING, inp.actor, "customer replied"))
        elif s.status is TicketStatus.RESOLVED:
            effects.append(reopen(s, inp.actor, "customer replied after resolution"))
    else:
        effects[0].progress = True
        if inp.public and s.first_response_at is None:
            s.first_response_at = now
            s.sla_events.append(SlaEvent(kind=SlaEventKind.FIRST_RESPONSE, at=now))
    return effects
