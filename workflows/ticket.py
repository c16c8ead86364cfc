"""The ticket workflow: owns the status machine and the SLA clock; activities persist."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import sla as clock
    from domain.routing import DispatchDecision, DispatchOutcome, DispatchRequest, TicketFacts
    from domain.sla import ActionKind, SlaEvent, SlaEventKind
    from domain.sla_view import sla_summary
    from domain.tickets import SurveyRating, TicketStatus, note_error, transition_error
    from workflows import search_attributes as sa
    from workflows.editing import DeadlineTimer, EditGate, upsert_changed
    from workflows.ticket_effects import Effect, effects_for_actions
    from workflows.ticket_types import (
        AssignInput,
        CollaboratorInput,
        CommentInput,
        CreatedRecord,
        CreateTicketRecord,
        EventDraft,
        NewTicket,
        NotificationRequest,
        PriorityInput,
        ReopenInput,
        StatusInput,
        SurveyInput,
        TicketChanges,
        TicketResult,
        TicketState,
        TicketWorkflowInput,
    )

# Unlimited attempts: a Postgres outage delays a write, it never drops it.
ACTIVITY_OPTIONS: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
    ),
}


# Auto-dispatch after creation was added while ticket workflows were open.
DISPATCH_PATCH = "dispatch-v1"


def conflict(message: str) -> ApplicationError:
    """An update refused by the current state (HTTP 409)."""
    return ApplicationError(message, type="Conflict", non_retryable=True)


def invalid(field: str, message: str) -> ApplicationError:
    """An update with unacceptable input (HTTP 422)."""
    return ApplicationError(message, {"field": field}, type="Invalid", non_retryable=True)


@workflow.defn(name="Ticket")
class TicketWorkflow:
    @workflow.init
    def __init__(self, inp: TicketWorkflowInput) -> None:
        self._state: TicketState | None = inp.state
        self._lock = asyncio.Lock()
        self._changed = False
        self._search: dict[str, object] = {}
        # False until a new ticket has been through auto-dispatch; `created` waits for it.
        self._routed = inp.state is not None

    @property
    def state(self) -> TicketState:
        assert self._state is not None, "ticket not created yet"
        return self._state

    @workflow.run
    async def run(self, inp: TicketWorkflowInput) -> TicketResult:
        if self._state is None:
            assert inp.new is not None
            await self._create(inp.new)
            await self._dispatch(inp.new)
            self._routed = True
        else:
            self._search = {
                pair.key.name: pair.value for pair in workflow.info().typed_search_attributes
            }
        timer = DeadlineTimer()
        while self.state.status is not TicketStatus.CLOSED:
            timer.aim(self._next_wakeup())
            if timer.must_wait:
                await workflow.wait_condition(lambda: self._changed or timer.fired())
            self._changed = False
            timer.collect()
            async with self._lock:
                await self._fire_due_actions()
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._closed():
                    workflow.continue_as_new(TicketWorkflowInput(state=self.state))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._result()

    def _closed(self) -> bool:
        return self.state.status is TicketStatus.CLOSED

    # --- creation -------------------------------------------------------------------
    async def _create(self, new: NewTicket) -> None:
        info = workflow.info()
        record: CreatedRecord = await workflow.execute_activity(
            "create_ticket_record",
            CreateTicketRecord(workflow_id=info.workflow_id, ticket=new, at=workflow.now()),
            result_type=CreatedRecord,
            **ACTIVITY_OPTIONS,
        )
        self._state = TicketState(
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
            sla_events=[
                SlaEvent(kind=SlaEventKind.CREATED, at=record.created_at, priority=new.priority)
            ],
        )
        self._upsert_search_attributes()

    async def _dispatch(self, new: NewTicket) -> None:
        """Route an unassigned new ticket by the rules; a manual assignment always wins."""
        if new.assignee_id is not None or not workflow.patched(DISPATCH_PATCH):
            return
        async with self._lock:
            facts = TicketFacts(
                category=new.category,
                channel=new.channel.value,
                text=f"{new.title}\n{new.description}",
                department_id=new.department_id,
            )
            request = DispatchRequest(
                workflow_id=workflow.info().workflow_id, ticket_id=self.state.ticket_id, facts=facts
            )
            decision: DispatchDecision = await workflow.execute_activity(
                "dispatch_ticket", request, result_type=DispatchDecision, **ACTIVITY_OPTIONS
            )
            effect = self._dispatched(decision)
            if effect is not None:
                await self._commit([effect])

    def _dispatched(self, decision: DispatchDecision) -> Effect | None:
        """The timeline event of a dispatch decision: the rule and strategy that made it."""
        s = self.state
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

    # --- updates --------------------------------------------------------------------
    @workflow.update(name="created")
    async def created(self) -> TicketResult:
        """Completes once the ticket row exists and is dispatched: the update-with-start answer."""
        await workflow.wait_condition(lambda: self._state is not None and self._routed)
        return self._result()

    @workflow.update(name="assign")
    async def assign(self, inp: AssignInput) -> TicketResult:
        async with self._editing():
            self._check_open("assign")
            s = self.state
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
            await self._commit([Effect("assigned", inp.actor, data, progress=True, notify=notes)])
        return self._result()

    @assign.validator
    def _validate_assign(self, inp: AssignInput) -> None:
        if inp.assignee_id is None and inp.department_id is None:
            raise invalid("assignee_id", "give assignee_id and/or department_id")
        self._check_open("assign")

    @workflow.update(name="comment")
    async def comment(self, inp: CommentInput) -> TicketResult:
        async with self._editing():
            self._check_open("comment on")
            s, now = self.state, workflow.now()
            effects = [Effect("commented", inp.actor, {"body": inp.body, "public": inp.public})]
            if inp.by_customer:
                if s.status is TicketStatus.AWAITING_CUSTOMER:
                    effects.append(
                        self._move(TicketStatus.PROCESSING, inp.actor, "customer replied")
                    )
                elif s.status is TicketStatus.RESOLVED:
                    effects.append(self._reopen(inp.actor, "customer replied after resolution"))
            else:
                effects[0].progress = True
                if inp.public and s.first_response_at is None:
                    s.first_response_at = now
                    s.sla_events.append(SlaEvent(kind=SlaEventKind.FIRST_RESPONSE, at=now))
            await self._commit(effects)
        return self._result()

    @comment.validator
    def _validate_comment(self, inp: CommentInput) -> None:
        if not inp.body.strip():
            raise invalid("body", "comment body is empty")
        self._check_open("comment on")

    @workflow.update(name="set_status")
    async def set_status(self, inp: StatusInput) -> TicketResult:
        async with self._editing():
            self._check_status_move(inp)
            await self._commit([self._move(inp.status, inp.actor, inp.note)])
        return self._result()

    @set_status.validator
    def _validate_set_status(self, inp: StatusInput) -> None:
        self._check_status_move(inp)

    @workflow.update(name="change_priority")
    async def change_priority(self, inp: PriorityInput) -> TicketResult:
        async with self._editing():
            self._check_priority(inp)
            s, now = self.state, workflow.now()
            data = {"from": s.priority.value, "to": inp.priority.value, "reason": inp.reason}
            s.priority = inp.priority
            s.sla_events.append(
                SlaEvent(kind=SlaEventKind.PRIORITY_CHANGED, at=now, priority=inp.priority)
            )
            await self._commit([Effect("priority_changed", inp.actor, data, progress=True)])
        return self._result()

    @change_priority.validator
    def _validate_priority(self, inp: PriorityInput) -> None:
        self._check_priority(inp)

    @workflow.update(name="add_collaborator")
    async def add_collaborator(self, inp: CollaboratorInput) -> TicketResult:
        async with self._editing():
            self._check_collaborator(inp)
            self.state.collaborator_department_ids.append(inp.department_id)
            data = {"department_id": inp.department_id, "note": inp.note}
            notify = [("collaboration_requested", "department_manager")]
            effect = Effect("collaborator_added", inp.actor, data, notify=notify)
            effect.notify_department_id = inp.department_id
            await self._commit([effect])
        return self._result()

    @add_collaborator.validator
    def _validate_collaborator(self, inp: CollaboratorInput) -> None:
        self._check_collaborator(inp)

    @workflow.update(name="reopen")
    async def reopen(self, inp: ReopenInput) -> TicketResult:
        async with self._editing():
            self._check_reopen()
            await self._commit([self._reopen(inp.actor, inp.reason)])
        return self._result()

    @reopen.validator
    def _validate_reopen(self, inp: ReopenInput) -> None:
        if not inp.reason.strip():
            raise invalid("reason", "a reason is required")
        self._check_reopen()

    @workflow.update(name="survey")
    async def survey(self, inp: SurveyInput) -> TicketResult:
        async with self._editing():
            self._check_survey()
            s = self.state
            s.satisfaction = inp.rating
            data = {"rating": inp.rating.value, "comment": inp.comment}
            effects = [Effect("survey_recorded", inp.actor, data)]
            if inp.rating is SurveyRating.UNSATISFIED:
                effects.append(self._reopen(inp.actor, "customer unsatisfied", redispatch=True))
            else:
                effects.append(self._close(inp.actor, "customer_satisfied"))
            await self._commit(effects)
        return self._result()

    @survey.validator
    def _validate_survey(self, inp: SurveyInput) -> None:
        self._check_survey()

    # --- checks (validators run them first; handlers again under the lock) ----------------
    def _check_open(self, verb: str) -> None:
        if self._state is not None and self._state.status is TicketStatus.CLOSED:
            raise conflict(f"cannot {verb} a closed ticket")

    def _check_status_move(self, inp: StatusInput) -> None:
        if self._state is not None:
            reason = transition_error(self._state.status, inp.status)
            if reason:
                raise conflict(reason)
        reason = note_error(inp.status, inp.note)
        if reason:
            raise invalid("note", reason)

    def _check_priority(self, inp: PriorityInput) -> None:
        if not inp.reason.strip():
            raise invalid("reason", "a reason is required")
        if self._state is None:
            return
        if self._state.status not in {
            TicketStatus.PENDING,
            TicketStatus.PROCESSING,
            TicketStatus.AWAITING_CUSTOMER,
        }:
            raise conflict(f"cannot change the priority of a {self._state.status.value} ticket")
        if self._state.priority is inp.priority:
            raise conflict(f"priority is already {inp.priority.value}")

    def _check_collaborator(self, inp: CollaboratorInput) -> None:
        self._check_open("add a collaborator to")
        s = self._state
        if s is not None and (
            inp.department_id == s.department_id
            or inp.department_id in s.collaborator_department_ids
        ):
            raise conflict("this department already works on the ticket")

    def _check_reopen(self) -> None:
        if self._state is not None and self._state.status is not TicketStatus.RESOLVED:
            raise conflict(
                f"only a resolved ticket can be reopened (it is {self._state.status.value})"
            )

    def _check_survey(self) -> None:
        if self._state is not None and self._state.status is not TicketStatus.RESOLVED:
            raise conflict(
                f"the survey is open only while resolved (it is {self._state.status.value})"
            )

    # --- state changes --------------------------------------------------------------
    def _move(self, target: TicketStatus, actor: str, note: str | None) -> Effect:
        s, now = self.state, workflow.now()
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
            return self._close(actor, "closed_by_staff", note=note, previous=previous)
        data = {"from": previous.value, "to": target.value, "note": note}
        notify = [("revisit_requested", "customer")] if target is TicketStatus.RESOLVED else []
        return Effect("status_changed", actor, data, progress=True, notify=notify)

    def _reopen(self, actor: str, reason: str, *, redispatch: bool = False) -> Effect:
        s, now = self.state, workflow.now()
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

    def _close(
        self,
        actor: str,
        reason: str,
        *,
        note: str | None = None,
        previous: TicketStatus | None = None,
    ) -> Effect:
        s, now = self.state, workflow.now()
        previous = previous or s.status
        s.status = TicketStatus.CLOSED
        s.closed_at = now
        s.sla_events.append(SlaEvent(kind=SlaEventKind.CLOSED, at=now))
        return Effect("closed", actor, {"from": previous.value, "reason": reason, "note": note})

    # --- persistence ------------------------------------------------------------------
    def _editing(self) -> EditGate:
        return EditGate(lambda: self._state is not None, self._lock)

    async def _commit(self, effects: list[Effect]) -> None:
        """Persist effects as consecutive timeline events in one activity, then index."""
        s, now = self.state, workflow.now()
        events: list[EventDraft] = []
        notifications: list[NotificationRequest] = []
        for effect in effects:
            if effect.progress:
                s.sla_events.append(SlaEvent(kind=SlaEventKind.PROGRESS, at=now))
            s.seq += 1
            events.append(
                EventDraft(
                    seq=s.seq, at=now, type=effect.type, actor=effect.actor, data=effect.data
                )
            )
            notifications.extend(effect.notifications(s.seq, s))
        s.updated_at = now
        summary = sla_summary(s.policy, s.calendar, s.sla_events, now)
        await workflow.execute_activity(
            "apply_ticket_changes",
            TicketChanges(
                workflow_id=workflow.info().workflow_id,
                state=s,
                events=events,
                sla_breached=summary.breached,
                notifications=notifications,
            ),
            **ACTIVITY_OPTIONS,
        )
        self._upsert_search_attributes()
        self._changed = True

    async def _fire_due_actions(self) -> None:
        s, now = self.state, workflow.now()
        if s.status is TicketStatus.CLOSED:
            return
        actions = clock.scheduled_actions(s.policy, s.calendar, s.sla_events, now)
        due = clock.due_actions(actions, now, s.fired)
        if not due:
            return
        s.fired.extend(action.key for action in due)
        effects = effects_for_actions(s, due)
        if any(action.kind is ActionKind.REVISIT_DEADLINE for action in due):
            effects.append(self._close("system", "no_answer_within_revisit_window"))
        await self._commit(effects)

    def _next_wakeup(self) -> datetime | None:
        s = self.state
        if s.status is TicketStatus.CLOSED:
            return None
        actions = clock.scheduled_actions(s.policy, s.calendar, s.sla_events, workflow.now())
        return clock.next_wakeup(actions, s.fired)

    def _upsert_search_attributes(self) -> None:
        s = self.state
        wanted: dict[str, object] = {
            sa.TICKET_NUMBER.name: s.number,
            sa.TICKET_STATUS.name: s.status.value,
            sa.PRIORITY.name: s.priority.value,
            sa.DEPARTMENT.name: str(s.department_id) if s.department_id is not None else None,
            sa.ASSIGNEE.name: str(s.assignee_id) if s.assignee_id is not None else None,
            sa.SLA_BREACHED.name: sla_summary(
                s.policy, s.calendar, s.sla_events, workflow.now()
            ).breached,
            sa.ESCALATION_LEVEL.name: s.escalation_level,
        }
        upsert_changed(self._search, wanted)

    def _result(self) -> TicketResult:
        s = self.state
        return TicketResult(ticket_id=s.ticket_id, number=s.number, status=s.status, seq=s.seq)
