"""Nightly RFM segment recomputation, run by a Temporal Schedule (02:00 Asia/Shanghai)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.followup_types import SegmentRun, SegmentRunResult

SCHEDULE_ID = "segment-recompute"
SCHEDULE_TIMEZONE = "Asia/Shanghai"
SCHEDULE_HOUR = 2


@workflow.defn(name="SegmentRecompute")
class SegmentRecomputeWorkflow:
    @workflow.run
    async def run(self, inp: SegmentRun) -> SegmentRunResult:
        """Recompute every customer's segment as of now; plans that move are signalled."""
        run = inp.model_copy(update={"as_of": inp.as_of or workflow.now()})
        result: SegmentRunResult = await workflow.execute_activity(
            "recompute_segments",
            run,
            result_type=SegmentRunResult,
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5)
            ),
        )
        return result


def segment_schedule(task_queue: str) -> Schedule:
    """Daily at 02:00 Shanghai time; a run still going when the next is due is not doubled."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            SegmentRecomputeWorkflow.run,
            SegmentRun(),
            id=f"{SCHEDULE_ID}-run",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    hour=[ScheduleRange(SCHEDULE_HOUR)],
                    minute=[ScheduleRange(0)],
                    second=[ScheduleRange(0)],
                    comment="RFM segments, daily 02:00",
                )
            ],
            time_zone_name=SCHEDULE_TIMEZONE,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_segment_schedule(client: Client, task_queue: str) -> bool:
    """Create the schedule unless it exists; True when this call created it."""
    try:
        await client.create_schedule(SCHEDULE_ID, segment_schedule(task_queue))
    except ScheduleAlreadyRunningError:
        return False
    return True
