"""The follow-up plan workflow: owns the cadence clock and care triggers; activities persist."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import cadence as rules
    from domain.cadence import LIVE_STATUSES, PUSH_CHANNELS, CareKind, CareTask, PlanStatus
    from domain.customers import CustomerSegment, CustomerTier
    from workflows import search_attributes as sa
    from workflows.editing import DeadlineTimer, EditGate, upsert_changed
    from workflows.followup_types import (
        CadenceChanged,
        CreatePlanRecord,
        CustomerFacts,
        EventDraft,
        FactsRequest,
        FactsResult,
        InteractionLogged,
        NewPlan,
        NoticeRequest,
        PlanAction,
        PlanChanges,
        PlanResult,
        PlanState,
        PlanWorkflowInput,
        PushOutcome,
        PushRequest,
        UpgradeAvailable,
    )

# Unlimited attempts: a Postgres outage delays a write, it never drops it.
ACTIVITY_OPTIONS: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
    ),
}
CARE_EVENTS = {
    CareKind.BIRTHDAY_GREETING: "birthday_task",
    CareKind.DORMANT_REACTIVATION: "reactivation_task",
    CareKind.PRODUCT_UPGRADE: "upgrade_task",
}


def plan_workflow_id(plan_id: int) -> str:
    return f"plan-{plan_id}"


def conflict(message: str) -> ApplicationError:
    """An update refused by the plan's current state (HTTP 409)."""
    return ApplicationError(message, type="Conflict", non_retryable=True)


@dataclass
class Effect:
    """One timeline event and the in-app notices it causes: (template, owner|owner_manager)."""

    type: str
    actor: str
    data: dict[str, Any]
    notify: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Due:
    at: datetime
    kind: str  # reminder | escalation | care
    task: CareTask | None = None


@workflow.defn(name="FollowUpPlan")
class FollowUpPlanWorkflow:
    @workflow.init
    def __init__(self, inp: PlanWorkflowInput) -> None:
        self._state: PlanState | None = inp.state
        self._lock = asyncio.Lock()
        self._changed = False
        self._search: dict[str, object] = {}

    @property
    def state(self) -> PlanState:
        assert self._state is not None, "plan not created yet"
        return self._state

    @workflow.run
    async def run(self, inp: PlanWorkflowInput) -> PlanResult:
        if self._state is None:
            assert inp.new is not None
            await self._create(inp.new)
        else:
            self._search = {
                pair.key.name: pair.value for pair in workflow.info().typed_search_attributes
            }
        timer = DeadlineTimer()
        while self.state.status in LIVE_STATUSES:
            timer.aim(self._next_wakeup())
            if timer.must_wait:
                await workflow.wait_condition(lambda: self._changed or timer.fired())
            self._changed = False
            timer.collect()
            async with self._lock:
                await self._fire_due()
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if self.state.status in LIVE_STATUSES:
                    workflow.continue_as_new(PlanWorkflowInput(state=self.state))
        timer.cancel()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._result()

    # --- creation -------------------------------------------------------------------
    async def _create(self, new: NewPlan) -> None:
        now = workflow.now()
        facts = await self._load_facts(new.plan_id, new.customer_id)
        if facts is None:
            raise ApplicationError(f"customer {new.customer_id} does not exist", type="NotFound")
        cadence = rules.effective_cadence(new.cadence, facts.tier, facts.segment)
        touch = facts.last_contact_at
        # A customer already overdue when the plan starts is due now, not in the past.
        due = max(rules.next_due(touch, cadence, now), now)
        await workflow.execute_activity(
            "create_plan_record",
            CreatePlanRecord(
                workflow_id=workflow.info().workflow_id,
                plan=new,
                effective_cadence=cadence.iso(),
                next_due_at=due,
                last_touch_at=touch,
                at=now,
            ),
            **ACTIVITY_OPTIONS,
        )
        self._state = PlanState(
            plan_id=new.plan_id,
            customer_id=facts.customer_id,
            customer_code=facts.code,
            owner_id=new.owner_id,
            cadence=new.cadence,
            priority=new.priority,
            channels=new.channels,
            grace_period=new.grace_period,
            birthday_lead_days=new.birthday_lead_days,
            timezone=new.timezone,
            tier=facts.tier,
            segment=facts.segment,
            birthday=facts.birthday,
            tags=facts.tags,
            started_at=now,
            updated_at=now,
            last_touch_at=touch,
            next_due_at=due,
            seq=1,
        )
        self._upsert_search_attributes()

    async def _load_facts(self, plan_id: int, customer_id: int) -> CustomerFacts | None:
        result: FactsResult = await workflow.execute_activity(
            "load_plan_facts",
            FactsRequest(plan_id=plan_id, customer_id=customer_id),
            result_type=FactsResult,
            **ACTIVITY_OPTIONS,
        )
        return result.facts

    # --- signals --------------------------------------------------------------------
    @workflow.signal(name="interaction_logged")
    async def interaction_logged(self, inp: InteractionLogged) -> None:
        """A touch resets the cadence: the next due is one cadence after it."""
        async with self._editing():
            s = self.state
            at = min(inp.at, workflow.now())
            if s.status not in LIVE_STATUSES or (s.last_touch_at and at <= s.last_touch_at):
                return
            await self._commit([self._touch(at, inp.actor, "interaction")])

    @workflow.signal(name="cadence_changed")
    async def cadence_changed(self, inp: CadenceChanged) -> None:
        """The customer's segment (or tier) moved: follow the new rule from the last touch."""
        async with self._editing():
            s = self.state
            if s.status not in LIVE_STATUSES:
                return
            segment = inp.segment if "segment" in inp.model_fields_set else s.segment
            effect = self._recadence(inp.tier or s.tier, segment, "segment_recomputed")
            if effect is not None:
                await self._commit([effect])

    @workflow.signal(name="upgrade_available")
    async def upgrade_available(self, inp: UpgradeAvailable) -> None:
        """A product upgrade for a tag: a reminder task (and a push) for tagged customers."""
        async with self._editing():
            s = self.state
            if s.status is not PlanStatus.ACTIVE:
                return
            facts = await self._load_facts(s.plan_id, s.customer_id)
            effects = self._absorb(facts) if facts is not None else []
            task = rules.upgrade_task(s.tags, inp.tag, inp.product, workflow.now())
            if task is not None and task.key not in s.fired:
                task.data["note"] = inp.note
                effects.extend(await self._care(task, inp.actor))
            if effects:
                await self._commit(effects)

    # --- updates --------------------------------------------------------------------
    @workflow.update(name="created")
    async def created(self) -> PlanResult:
        """Completes once the plan row exists: the answer to update-with-start."""
        await workflow.wait_condition(lambda: self._state is not None)
        return self._result()

    @workflow.update(name="pause")
    async def pause(self, inp: PlanAction) -> PlanResult:
        async with self._editing():
            self._check({PlanStatus.ACTIVE}, "pause")
            self.state.status = PlanStatus.PAUSED
            await self._commit([Effect("paused", inp.actor, {"reason": inp.reason})])
        return self._result()

    @pause.validator
    def _validate_pause(self, inp: PlanAction) -> None:
        self._check({PlanStatus.ACTIVE}, "pause")

    @workflow.update(name="resume")
    async def resume(self, inp: PlanAction) -> PlanResult:
        async with self._editing():
            self._check({PlanStatus.PAUSED}, "resume")
            self.state.status = PlanStatus.ACTIVE
            await self._commit([Effect("resumed", inp.actor, {"reason": inp.reason})])
        return self._result()

    @resume.validator
    def _validate_resume(self, inp: PlanAction) -> None:
        self._check({PlanStatus.PAUSED}, "resume")

    @workflow.update(name="cancel")
    async def cancel(self, inp: PlanAction) -> PlanResult:
        async with self._editing():
            self._check(LIVE_STATUSES, "cancel")
            self.state.status = PlanStatus.CANCELLED
            await self._commit([Effect("cancelled", inp.actor, {"reason": inp.reason})])
        return self._result()

    @cancel.validator
    def _validate_cancel(self, inp: PlanAction) -> None:
        self._check(LIVE_STATUSES, "cancel")

    def _check(self, allowed: set[PlanStatus] | frozenset[PlanStatus], verb: str) -> None:
        if self._state is not None and self._state.status not in allowed:
            raise conflict(f"cannot {verb} the plan: it is {self._state.status.value}")

    # --- the clock --------------------------------------------------------------------
    def _pending(self) -> list[Due]:
        """What the plan still has to do, earliest first; nothing while paused."""
        s = self.state
        if s.status is not PlanStatus.ACTIVE:
            return []
        items: list[Due] = []
        if s.reminded_due != s.next_due_at:
            items.append(Due(s.next_due_at, "reminder"))
        elif s.escalated_due != s.next_due_at:
            grace = rules.Cadence.parse(s.grace_period)
            reminded = s.reminded_at or s.next_due_at
            items.append(Due(rules.escalation_at(reminded, grace), "escalation"))
        birthday = rules.birthday_task(
            s.birthday, workflow.now(), s.timezone, s.birthday_lead_days, s.fired
        )
        if birthday is not None:
            items.append(Due(birthday.at, "care", birthday))
        dormant = rules.dormant_task(s.last_touch_at, s.started_at)
        if dormant.key not in s.fired:
            items.append(Due(dormant.at, "care", dormant))
        return sorted(items, key=lambda due: due.at)

    def _next_wakeup(self) -> datetime | None:
        pending = self._pending()
        return pending[0].at if pending else None

    async def _fire_due(self) -> None:
        """Act on everything due, after catching up with the customer file."""
        now = workflow.now()
        if not any(due.at <= now for due in self._pending()):
            return
        s = self.state
        facts = await self._load_facts(s.plan_id, s.customer_id)
        if facts is None:
            s.status = PlanStatus.COMPLETED
            await self._commit([Effect("completed", "system", {"reason": "customer_removed"})])
            return
        effects = self._absorb(facts)
        while due := [d for d in self._pending() if d.at <= now]:
            effects.extend(await self._act(due[0]))
        if effects:
            await self._commit(effects)

    async def _act(self, due: Due) -> list[Effect]:
        """Do one due thing and mark it done, so the loop always moves on."""
        s, now = self.state, workflow.now()
        if due.kind == "reminder":
            s.reminded_due, s.reminded_at = s.next_due_at, now
            data = {"due_at": s.next_due_at.isoformat(), "cadence": self._cadence().iso()}
            return [Effect("reminder_sent", "system", data, [("follow_up_due", "owner")])]
        if due.kind == "escalation":
            s.escalated_due, s.escalated_at = s.next_due_at, now
            data = {"due_at": s.next_due_at.isoformat(), "grace_period": s.grace_period}
            return [Effect("escalated", "system", data, [("follow_up_overdue", "owner_manager")])]
        assert due.task is not None
        return await self._care(due.task, "system")

    async def _care(self, task: CareTask, actor: str) -> list[Effect]:
        """A care task for the owner, and an automatic push to the customer when allowed."""
        s = self.state
        s.fired.append(task.key)
        data = {**task.data, "key": task.key}
        effects = [Effect(CARE_EVENTS[task.kind], actor, data, [(task.kind.value, "owner")])]
        if not any(channel in PUSH_CHANNELS for channel in s.channels):
            return effects
        outcome: PushOutcome = await workflow.execute_activity(
            "push_to_customer",
            PushRequest(
                workflow_id=workflow.info().workflow_id,
                plan_id=s.plan_id,
                customer_id=s.customer_id,
                tier=s.tier,
                channels=s.channels,
                key=task.key,
                kind=task.kind.value,
                data=task.data,
                at=workflow.now(),
                timezone=s.timezone,
            ),
            result_type=PushOutcome,
            **ACTIVITY_OPTIONS,
        )
        detail: dict[str, Any] = {
            "kind": task.kind.value,
            "key": task.key,
            "paused": outcome.paused,
        }
        if outcome.channel is not None:
            detail.update(channel=outcome.channel, push_id=outcome.push_id)
            effects.append(Effect("push_sent", "system", detail))
        else:
            effects.append(Effect("push_skipped", "system", {**detail, "reason": outcome.reason}))
        return effects

    # --- state changes --------------------------------------------------------------
    def _cadence(self) -> rules.Cadence:
        s = self.state
        return rules.effective_cadence(s.cadence, s.tier, s.segment)

    def _touch(self, at: datetime, actor: str, source: str) -> Effect:
        s = self.state
        s.last_touch_at = at
        s.next_due_at = rules.next_due(at, self._cadence(), workflow.now())
        data = {"at": at.isoformat(), "source": source, "next_due_at": s.next_due_at.isoformat()}
        return Effect("touch_logged", actor, data)

    def _recadence(
        self, tier: CustomerTier, segment: CustomerSegment | None, reason: str
    ) -> Effect | None:
        s = self.state
        before, old_segment, old_tier = self._cadence(), s.segment, s.tier
        s.tier, s.segment = tier, segment
        after = self._cadence()
        if (old_tier, old_segment) == (tier, segment):
            return None
        if after != before:
            base = s.last_touch_at or s.started_at
            s.next_due_at = rules.next_due(base, after, workflow.now())
        data = {
            "from": before.iso(),
            "to": after.iso(),
            "tier": tier.value,
            "segment": segment.value if segment else None,
            "reason": reason,
            "next_due_at": s.next_due_at.isoformat(),
        }
        return Effect("cadence_changed", "system", data)

    def _absorb(self, facts: CustomerFacts) -> list[Effect]:
        """Take in the customer file: profile changes, and touches whose signal never came."""
        s = self.state
        s.customer_id, s.customer_code = facts.customer_id, facts.code
        s.birthday, s.tags = facts.birthday, facts.tags
        effects: list[Effect] = []
        moved = self._recadence(facts.tier, facts.segment, "customer_updated")
        if moved is not None:
            effects.append(moved)
        touch = facts.last_contact_at
        if touch is not None and (s.last_touch_at is None or touch > s.last_touch_at):
            effects.append(self._touch(min(touch, workflow.now()), "system", "customer_file"))
        return effects

    # --- persistence ------------------------------------------------------------------
    def _editing(self) -> EditGate:
        return EditGate(lambda: self._state is not None, self._lock)

    async def _commit(self, effects: list[Effect]) -> None:
        """Persist effects as consecutive timeline events in one activity, then index."""
        s, now = self.state, workflow.now()
        events: list[EventDraft] = []
        notices: list[NoticeRequest] = []
        for effect in effects:
            s.seq += 1
            events.append(
                EventDraft(
                    seq=s.seq, at=now, type=effect.type, actor=effect.actor, data=effect.data
                )
            )
            notices.extend(
                NoticeRequest(event_seq=s.seq, template=template, notify=who, data=effect.data)
                for template, who in effect.notify
            )
        s.updated_at = now
        await workflow.execute_activity(
            "apply_plan_changes",
            PlanChanges(
                workflow_id=workflow.info().workflow_id,
                state=s,
                effective_cadence=self._cadence().iso(),
                events=events,
                notices=notices,
            ),
            **ACTIVITY_OPTIONS,
        )
        self._upsert_search_attributes()
        self._changed = True

    def _upsert_search_attributes(self) -> None:
        s = self.state
        wanted: dict[str, object] = {
            sa.CUSTOMER_CODE.name: s.customer_code,
            sa.OWNER.name: str(s.owner_id),
            sa.PLAN_STATUS.name: s.status.value,
            sa.NEXT_DUE.name: s.next_due_at,
        }
        upsert_changed(self._search, wanted)

    def _result(self) -> PlanResult:
        s = self.state
        return PlanResult(plan_id=s.plan_id, status=s.status, next_due_at=s.next_due_at, seq=s.seq)
