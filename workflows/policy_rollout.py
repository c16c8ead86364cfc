"""PolicyRolloutWorkflow: pages through a policy's open tickets and rebinds each by Update."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.rollout_types import (
        PageResult,
        RolloutCounts,
        RolloutInput,
        RolloutPage,
        RolloutRef,
    )

_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
# A page is retried whole after a crash; tickets it already rebound are no longer selected
# (their binding matches) and a repeated Update is refused by the ticket, so none twice.
_PAGE_TIMEOUT = timedelta(minutes=10)
_HEARTBEAT = timedelta(seconds=30)
# Continue-as-new before the history grows long: 3 events per page.
_PAGES_PER_RUN = 500


@workflow.defn(name="PolicyRollout")
class PolicyRolloutWorkflow:
    @workflow.run
    async def run(self, inp: RolloutInput) -> RolloutCounts:
        ref = RolloutRef(
            rollout_id=inp.rollout_id,
            policy_id=inp.policy_id,
            to_version=inp.to_version,
            calendar_version=inp.calendar_version,
        )
        if inp.after_id == 0:
            await workflow.execute_activity(
                "count_rollout",
                ref,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=_RETRY,
            )
        after = inp.after_id
        for _ in range(_PAGES_PER_RUN):
            page = RolloutPage(
                rollout_id=inp.rollout_id,
                policy_id=inp.policy_id,
                to_version=inp.to_version,
                calendar_version=inp.calendar_version,
                actor=inp.actor,
                after_id=after,
                limit=inp.page_size,
                concurrency=inp.concurrency,
            )
            result: PageResult = await workflow.execute_activity(
                "rebind_page",
                page,
                result_type=PageResult,
                start_to_close_timeout=_PAGE_TIMEOUT,
                heartbeat_timeout=_HEARTBEAT,
                retry_policy=_RETRY,
            )
            if result.seen == 0:
                counts: RolloutCounts = await workflow.execute_activity(
                    "finish_rollout",
                    ref,
                    result_type=RolloutCounts,
                    start_to_close_timeout=timedelta(minutes=2),
                    retry_policy=_RETRY,
                )
                return counts
            after = result.last_id
        workflow.continue_as_new(inp.model_copy(update={"after_id": after}))
