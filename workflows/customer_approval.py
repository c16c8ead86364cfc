"""Approval of a new customer: daily reminders to the manager, one escalation, then a decision."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.customers import Approval, Decision

REMIND_EVERY = timedelta(days=1)
# Reminders sent before admins are told as well (day 3).
ESCALATE_AFTER_REMINDERS = 3

ACTIVITY_OPTIONS: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
    ),
}


class ApprovalInput(BaseModel):
    """Start (or continue-as-new) argument; counters carry over a continue-as-new."""

    customer_id: int
    code: str
    department_id: int | None = None
    reminders_sent: int = 0
    escalated: bool = False


class DecideInput(BaseModel):
    decision: Decision
    reason: str | None = None
    actor: str
    actor_id: int | None = None


class ApprovalResult(BaseModel):
    customer_id: int
    approval: Approval
    reason: str | None = None


class ReminderRequest(BaseModel):
    """One daily reminder; `sequence` keys the notification rows."""

    workflow_id: str
    customer_id: int
    code: str
    department_id: int | None = None
    sequence: int
    escalate: bool = False


class DecisionRecord(BaseModel):
    workflow_id: str
    customer_id: int
    decision: DecideInput
    at: datetime


@workflow.defn(name="CustomerApproval")
class CustomerApprovalWorkflow:
    @workflow.init
    def __init__(self, inp: ApprovalInput) -> None:
        self._customer_id = inp.customer_id
        self._decision: DecideInput | None = None
        self._result: ApprovalResult | None = None
        self._closed = False

    @workflow.run
    async def run(self, inp: ApprovalInput) -> ApprovalResult | None:
        sent, escalated = inp.reminders_sent, inp.escalated
        while self._decision is None and not self._closed:
            try:
                await workflow.wait_condition(
                    lambda: self._decision is not None, timeout=REMIND_EVERY
                )
            except TimeoutError:
                sent += 1
                escalate = not escalated and sent >= ESCALATE_AFTER_REMINDERS
                still_pending: bool = await workflow.execute_activity(
                    "remind_customer_approval",
                    ReminderRequest(
                        workflow_id=workflow.info().workflow_id,
                        customer_id=inp.customer_id,
                        code=inp.code,
                        department_id=inp.department_id,
                        sequence=sent,
                        escalate=escalate,
                    ),
                    result_type=bool,
                    **ACTIVITY_OPTIONS,
                )
                escalated = escalated or escalate
                # Decided or merged elsewhere: nothing left to approve.
                self._closed = not still_pending
            if (
                self._decision is None
                and not self._closed
                and workflow.info().is_continue_as_new_suggested()
            ):
                await workflow.wait_condition(workflow.all_handlers_finished)
                if self._decision is None:
                    workflow.continue_as_new(
                        inp.model_copy(update={"reminders_sent": sent, "escalated": escalated})
                    )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._result

    @workflow.update(name="decide")
    async def decide(self, inp: DecideInput) -> ApprovalResult:
        """Record the manager's decision; the workflow completes after it is persisted."""
        self._decision = inp
        info = workflow.info()
        result: ApprovalResult = await workflow.execute_activity(
            "record_customer_decision",
            DecisionRecord(
                workflow_id=info.workflow_id,
                customer_id=self._customer_id,
                decision=inp,
                at=workflow.now(),
            ),
            result_type=ApprovalResult,
            **ACTIVITY_OPTIONS,
        )
        self._result = result
        return result

    @decide.validator
    def _validate_decide(self, inp: DecideInput) -> None:
        if self._decision is not None or self._closed:
            raise ApplicationError(
                "the customer has already been decided", type="Conflict", non_retryable=True
            )
        if inp.decision is Decision.REJECT and not (inp.reason or "").strip():
            raise ApplicationError(
                "a reason is required to reject",
                {"field": "reason"},
                type="Invalid",
                non_retryable=True,
            )


def approval_workflow_id(customer_id: int) -> str:
    """The one approval workflow of a customer."""
    return f"customer-approval-{customer_id}"


__all__ = [
    "ApprovalInput",
    "ApprovalResult",
    "CustomerApprovalWorkflow",
    "DecideInput",
    "DecisionRecord",
    "ReminderRequest",
    "approval_workflow_id",
]
