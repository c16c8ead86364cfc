"""A service order delivered in stages: a reminder before each deadline, escalation after it."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.sales.service_orders import complete_error, reminder_at
    from workflows.service_order_types import (
        CompleteStageInput,
        OrderView,
        ServiceOrderInput,
        StageAlert,
        StageCompletion,
    )

ACTIVITY_OPTIONS: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
    ),
}


@workflow.defn(name="ServiceOrder")
class ServiceOrderWorkflow:
    @workflow.init
    def __init__(self, inp: ServiceOrderInput) -> None:
        self._inp = inp
        self._current: int | None = inp.current if inp.current < len(inp.stages) else None
        self._busy = False

    @workflow.run
    async def run(self, inp: ServiceOrderInput) -> OrderView:
        started = workflow.now()
        before = timedelta(seconds=inp.remind_before_seconds)
        while self._current is not None:
            index = self._current
            stage = inp.stages[index]

            def moved(index: int = index) -> bool:
                return self._current != index

            for at, kind in (
                (reminder_at(stage.due_at, before, started), "reminder"),
                (stage.due_at, "overdue"),
            ):
                left = at - workflow.now()
                if left > timedelta(0):
                    with contextlib.suppress(TimeoutError):
                        await workflow.wait_condition(moved, timeout=left)
                if moved():
                    break
                await self._alert(index, kind)
            await workflow.wait_condition(moved)
            started = workflow.now()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view()

    async def _alert(self, index: int, kind: str) -> None:
        alert = StageAlert(
            workflow_id=workflow.info().workflow_id,
            order_id=self._inp.order_id,
            index=index,
            kind=kind,
        )
        await workflow.execute_activity("alert_service_stage", alert, **ACTIVITY_OPTIONS)

    def _view(self) -> OrderView:
        return OrderView(
            order_id=self._inp.order_id,
            current_stage=self._current,
            completed=self._current is None,
        )

    @workflow.update(name="complete_stage")
    async def complete_stage(self, inp: CompleteStageInput) -> OrderView:
        self._busy = True
        last = inp.index == len(self._inp.stages) - 1
        record = StageCompletion(
            workflow_id=workflow.info().workflow_id,
            order_id=self._inp.order_id,
            completion=inp,
            last=last,
            at=workflow.now(),
        )
        await workflow.execute_activity("complete_service_stage", record, **ACTIVITY_OPTIONS)
        self._current = None if last else inp.index + 1
        self._busy = False
        return self._view()

    @complete_stage.validator
    def _validate_complete(self, inp: CompleteStageInput) -> None:
        error = complete_error(self._current, inp.index, len(self._inp.stages))
        if error is None and self._busy:
            error = "another stage completion is being saved; retry"
        if error:
            raise ApplicationError(error, type="Conflict", non_retryable=True)


def service_order_workflow_id(order_id: int) -> str:
    return f"service-order-{order_id}"
