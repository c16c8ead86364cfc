"""A submitted quote: approvers in order (reminded, escalated), sending, the answer, expiry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.sales.quotes import RESPONSE_STATUS, QuoteStatus
    from workflows.quote_types import (
        DecideInput,
        DecisionRecord,
        ExpireRecord,
        QuoteInput,
        QuoteView,
        RespondInput,
        ResponseRecord,
        SendInput,
        SendRecord,
        StepNotice,
        SubmitRecord,
    )

ACTIVITY_OPTIONS: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
    ),
}
OPEN = frozenset({QuoteStatus.PENDING_APPROVAL, QuoteStatus.APPROVED, QuoteStatus.SENT})


def _conflict(message: str) -> ApplicationError:
    return ApplicationError(message, type="Conflict", non_retryable=True)


@workflow.defn(name="Quote")
class QuoteWorkflow:
    @workflow.init
    def __init__(self, inp: QuoteInput) -> None:
        self._inp = inp
        self._status = QuoteStatus.DRAFT
        self._index = 0
        self._escalated = False
        self._busy = False  # a decision is being persisted
        self._superseded = False
        self._submitting = False

    @workflow.run
    async def run(self, inp: QuoteInput) -> QuoteView:
        await workflow.wait_condition(lambda: self._status != QuoteStatus.DRAFT)
        while self._status == QuoteStatus.PENDING_APPROVAL and not self._superseded:
            await self._ask(self._index)
        while self._status in (QuoteStatus.APPROVED, QuoteStatus.SENT) and not self._superseded:
            if not await self._wait_until_expiry(self._status):
                await self._expire()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view()

    async def _ask(self, index: int) -> None:
        """Request one step's decision; remind every period; escalate once after N reminders."""
        step = self._inp.steps[index]
        self._escalated = False
        await self._notice(StepNotice(**self._ids(), step=step, index=index, sequence=0))
        sequence = 0
        every = timedelta(seconds=self._inp.remind_every_seconds)
        while self._index == index and self._status == QuoteStatus.PENDING_APPROVAL:
            if self._superseded:
                return
            left = self._inp.valid_until - workflow.now()
            if left <= timedelta(0):
                await self._expire()
                return
            try:
                await workflow.wait_condition(
                    lambda: (
                        self._index != index
                        or self._status != QuoteStatus.PENDING_APPROVAL
                        or self._superseded
                    ),
                    # Past the last reminder only the expiry timer is left: history stays bounded.
                    timeout=min(every, left) if sequence < self._inp.max_reminders else left,
                )
            except TimeoutError:
                if workflow.now() >= self._inp.valid_until:
                    continue  # the loop expires it
                if self._busy:
                    continue
                sequence += 1
                escalate = not self._escalated and sequence >= self._inp.escalate_after_reminders
                await self._notice(
                    StepNotice(
                        **self._ids(), step=step, index=index, sequence=sequence, escalate=escalate
                    )
                )
                self._escalated = self._escalated or escalate

    async def _wait_until_expiry(self, status: QuoteStatus) -> bool:
        """Wait for the status to move on; False when valid_until came first."""
        left = self._inp.valid_until - workflow.now()
        if left <= timedelta(0):
            return False

        def moved() -> bool:
            return self._status != status or self._superseded

        try:
            await workflow.wait_condition(moved, timeout=left)
        except TimeoutError:
            return moved()
        return True

    async def _notice(self, notice: StepNotice) -> None:
        await workflow.execute_activity("notify_quote_step", notice, **ACTIVITY_OPTIONS)

    async def _expire(self) -> None:
        await workflow.wait_condition(lambda: not self._busy)
        if self._status not in OPEN or self._superseded:
            return
        self._status = QuoteStatus.EXPIRED
        await workflow.execute_activity(
            "expire_quote", ExpireRecord(**self._ids(), at=workflow.now()), **ACTIVITY_OPTIONS
        )

    def _ids(self) -> dict[str, Any]:
        return {"workflow_id": workflow.info().workflow_id, "quote_id": self._inp.quote_id}

    def _view(self) -> QuoteView:
        level = None
        if self._status == QuoteStatus.PENDING_APPROVAL and self._index < len(self._inp.steps):
            level = self._inp.steps[self._index].level
        return QuoteView(quote_id=self._inp.quote_id, status=self._status, approval_level=level)

    # --- updates -------------------------------------------------------------------------
    @workflow.update(name="created")
    async def created(self) -> QuoteView:
        """Submission: pending approval, or approved at once when no rule asks for approval."""
        if self._status == QuoteStatus.DRAFT and not self._submitting:
            self._submitting = True
            record = SubmitRecord(
                **self._ids(), steps=self._inp.steps, actor=self._inp.actor, at=workflow.now()
            )
            await workflow.execute_activity("submit_quote", record, **ACTIVITY_OPTIONS)
            # Only once the row says so do the approval requests start.
            self._status = QuoteStatus.PENDING_APPROVAL if self._inp.steps else QuoteStatus.APPROVED
        await workflow.wait_condition(lambda: self._status != QuoteStatus.DRAFT)
        return self._view()

    @workflow.update(name="decide")
    async def decide(self, inp: DecideInput) -> QuoteView:
        self._busy = True
        index = self._index
        last = index == len(self._inp.steps) - 1
        approve = inp.decision == "approve"
        record = DecisionRecord(
            **self._ids(), index=index, last=last, decision=inp, at=workflow.now()
        )
        await workflow.execute_activity("record_quote_decision", record, **ACTIVITY_OPTIONS)
        if not approve:
            self._status = QuoteStatus.REJECTED
        elif last:
            self._status = QuoteStatus.APPROVED
        else:
            self._index = index + 1
        self._busy = False
        return self._view()

    @decide.validator
    def _validate_decide(self, inp: DecideInput) -> None:
        if self._status != QuoteStatus.PENDING_APPROVAL or self._busy or self._superseded:
            raise _conflict(f"a {self._status.value} quote takes no approval decision")
        step = self._inp.steps[self._index]
        named = inp.actor_id == step.approver_id
        if self._escalated:
            named = named or inp.actor_id == step.escalate_to_id
            named = named or (step.escalate_to_id is None and inp.actor_is_admin)
        if not named:
            raise ApplicationError(
                "only the approver the rules name decides this level",
                type="Forbidden",
                non_retryable=True,
            )
        if inp.decision not in ("approve", "reject"):
            raise ApplicationError(
                "decision must be approve or reject", {"field": "decision"}, type="Invalid"
            )
        if inp.decision == "reject" and not (inp.reason or "").strip():
            raise ApplicationError(
                "a reason is required to reject", {"field": "reason"}, type="Invalid"
            )

    @workflow.update(name="send")
    async def send(self, inp: SendInput) -> QuoteView:
        self._busy = True
        record = SendRecord(**self._ids(), actor_id=inp.actor_id, at=workflow.now())
        await workflow.execute_activity("send_quote", record, **ACTIVITY_OPTIONS)
        self._status = QuoteStatus.SENT
        self._busy = False
        return self._view()

    @send.validator
    def _validate_send(self, inp: SendInput) -> None:
        if self._status != QuoteStatus.APPROVED or self._busy or self._superseded:
            raise _conflict(f"a {self._status.value} quote cannot be sent")

    @workflow.update(name="respond")
    async def respond(self, inp: RespondInput) -> QuoteView:
        self._busy = True
        record = ResponseRecord(**self._ids(), response=inp, at=workflow.now())
        await workflow.execute_activity("record_quote_response", record, **ACTIVITY_OPTIONS)
        self._status = RESPONSE_STATUS[inp.response]
        self._busy = False
        return self._view()

    @respond.validator
    def _validate_respond(self, inp: RespondInput) -> None:
        if self._status != QuoteStatus.SENT or self._busy or self._superseded:
            raise _conflict("this quote has already been answered or is no longer open")

    @workflow.signal(name="superseded")
    def superseded(self) -> None:
        """A revision replaced this version: stop reminding and expiring it."""
        self._superseded = True

    @workflow.query(name="view")
    def view(self) -> QuoteView:
        return self._view()


def quote_workflow_id(quote_id: int) -> str:
    return f"quote-{quote_id}"
