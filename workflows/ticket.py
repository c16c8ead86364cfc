"""The ticket workflow: owns the status machine and the SLA clock; activities persist."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain import sla as clock
    from domain.routing import DispatchDecision, DispatchRequest, TicketFacts
    from domain.sla import ActionKind, SlaEvent, SlaEventKind
    from domain.sla_view import sla_summary
    from domain.tickets import SurveyRating, TicketStatus
    from workflows import ticket_checks as checks
    from workflows import ticket_moves as moves
    from workflows.editing import DeadlineTimer, EditGate, upsert_changed
    from workflows.ticket_checks import invalid
    from workflows.ticket_effects import Effect, drafts, effects_for_actions, search_values
    from workflows.ticket_rebind import rebind
    from workflows.ticket_types import (
        AssignInput,
        CollaboratorInput,
        CommentInput,
        CreatedRecord,
        CreateTicketRecord,
        NewTicket,
        PriorityInput,
        RebindInput,
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
# Policy rollouts rebind open tickets; marks the histories that went through a rebind.
REBIND_PATCH = "sla-rebind-v1"


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
        self._state = moves.created_state(new, record)
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
            effect = moves.dispatched(self.state, decision)
            if effect is not None:
                await self._commit([effect])

    # --- updates --------------------------------------------------------------------
    @workflow.update(name="created")
    async def created(self) -> TicketResult:
        """Completes once the ticket row exists and is dispatched: the update-with-start answer."""
        await workflow.wait_condition(lambda: self._state is not None and self._routed)
        return self._result()

    @workflow.update(name="assign")
    async def assign(self, inp: AssignInput) -> TicketResult:
        async with self._editing():
            checks.check_open(self._state, "assign")
            effect = moves.assigned(self.state, inp)
            await self._commit([effect])
        return self._result()

    @assign.validator
    def _validate_assign(self, inp: AssignInput) -> None:
        if inp.assignee_id is None and inp.department_id is None:
            raise invalid("assignee_id", "give assignee_id and/or department_id")
        checks.check_open(self._state, "assign")

    @workflow.update(name="comment")
    async def comment(self, inp: CommentInput) -> TicketResult:
        async with self._editing():
            checks.check_open(self._state, "comment on")
            effects = moves.commented(self.state, inp, workflow.now())
            await self._commit(effects)
        return self._result()

    @comment.validator
    def _validate_comment(self, inp: CommentInput) -> None:
        if not inp.body.strip():
            raise invalid("body", "comment body is empty")
        checks.check_open(self._state, "comment on")

    @workflow.update(name="set_status")
    async def set_status(self, inp: StatusInput) -> TicketResult:
        async with self._editing():
            checks.check_status_move(self._state, inp)
            await self._commit([moves.move(self.state, inp.status, inp.actor, inp.note)])
        return self._result()

    @set_status.validator
    def _validate_set_status(self, inp: StatusInput) -> None:
        checks.check_status_move(self._state, inp)

    @workflow.update(name="change_priority")
    async def change_priority(self, inp: PriorityInput) -> TicketResult:
        async with self._editing():
            checks.check_priority(self._state, inp)
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
        checks.check_priority(self._state, inp)

    @workflow.update(name="add_collaborator")
    async def add_collaborator(self, inp: CollaboratorInput) -> TicketResult:
        async with self._editing():
            checks.check_collaborator(self._state, inp)
            self.state.collaborator_department_ids.append(inp.department_id)
            data = {"department_id": inp.department_id, "note": inp.note}
            notify = [("collaboration_requested", "department_manager")]
            effect = Effect("collaborator_added", inp.actor, data, notify=notify)
            effect.notify_department_id = inp.department_id
            await self._commit([effect])
        return self._result()

    @add_collaborator.validator
    def _validate_collaborator(self, inp: CollaboratorInput) -> None:
        checks.check_collaborator(self._state, inp)

    @workflow.update(name="reopen")
    async def reopen(self, inp: ReopenInput) -> TicketResult:
        async with self._editing():
            checks.check_reopen(self._state)
            await self._commit([moves.reopen(self.state, inp.actor, inp.reason)])
        return self._result()

    @reopen.validator
    def _validate_reopen(self, inp: ReopenInput) -> None:
        if not inp.reason.strip():
            raise invalid("reason", "a reason is required")
        checks.check_reopen(self._state)

    @workflow.update(name="survey")
    async def survey(self, inp: SurveyInput) -> TicketResult:
        async with self._editing():
            checks.check_survey(self._state)
            s = self.state
            s.satisfaction = inp.rating
            data = {"rating": inp.rating.value, "comment": inp.comment}
            effects = [Effect("survey_recorded", inp.actor, data)]
            if inp.rating is SurveyRating.UNSATISFIED:
                effects.append(
                    moves.reopen(self.state, inp.actor, "customer unsatisfied", redispatch=True)
                )
            else:
                effects.append(moves.close(self.state, inp.actor, "customer_satisfied"))
            await self._commit(effects)
        return self._result()

    @survey.validator
    def _validate_survey(self, inp: SurveyInput) -> None:
        checks.check_survey(self._state)

    @workflow.update(name="rebind_policy")
    async def rebind_policy(self, inp: RebindInput) -> TicketResult:
        """A rollout moves the ticket onto a new policy/calendar version: one policy_rebound."""
        async with self._editing():
            checks.check_rebind(self._state, inp)
            # Recorded in every history that rebinds; later changes to rebinding branch on it.
            workflow.patched(REBIND_PATCH)
            effect = rebind(self.state, inp, workflow.now())
            await self._commit([effect])
        return self._result()

    @rebind_policy.validator
    def _validate_rebind(self, inp: RebindInput) -> None:
        checks.check_rebind(self._state, inp)

    # --- persistence ------------------------------------------------------------------
    def _editing(self) -> EditGate:
        return EditGate(lambda: self._state is not None, self._lock)

    async def _commit(self, effects: list[Effect]) -> None:
        """Persist effects as consecutive timeline events in one activity, then index."""
        s, now = self.state, workflow.now()
        events, notifications = drafts(s, effects, now)
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
            effects.append(moves.close(self.state, "system", "no_answer_within_revisit_window"))
        await self._commit(effects)

    def _next_wakeup(self) -> datetime | None:
        s = self.state
        if s.status is TicketStatus.CLOSED:
            return None
        actions = clock.scheduled_actions(s.policy, s.calendar, s.sla_events, workflow.now())
        return clock.next_wakeup(actions, s.fired)

    def _upsert_search_attributes(self) -> None:
        wanted = search_values(self.state, workflow.now())
        upsert_changed(self._search, wanted)

    def _result(self) -> TicketResult:
        s = self.state
        return TicketResult(ticket_id=s.ticket_id, number=s.number, status=s.status, seq=s.seq)
