"""One run of a scheduled report: render the previous period's file, then mail it once."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

# The time the Schedule meant this run for (set by Temporal on scheduled starts).
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
RENDER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=10,
    non_retryable_error_types=["ScheduleGone"],
)
MAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)


class ReportRunInput(BaseModel):
    schedule_id: int
    # Set to render a given period now (tests, re-runs); else the one before the firing time.
    period_start: date | None = None


class RenderReportRun(BaseModel):
    schedule_id: int
    fired_at: datetime
    period_start: date | None = None


class RunRecord(BaseModel):
    run_id: int
    period_start: date
    period_end: date
    mailed: bool = False


class MailReportRun(BaseModel):
    run_id: int


@workflow.defn(name="ReportRun")
class ReportRunWorkflow:
    @workflow.run
    async def run(self, inp: ReportRunInput) -> RunRecord:
        """Both steps are keyed (schedule + period, run + recipient): retries never double."""
        fired_at = workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
        record: RunRecord = await workflow.execute_activity(
            "render_report_run",
            RenderReportRun(
                schedule_id=inp.schedule_id, fired_at=fired_at, period_start=inp.period_start
            ),
            result_type=RunRecord,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RENDER_RETRY,
        )
        await workflow.execute_activity(
            "mail_report_run",
            MailReportRun(run_id=record.run_id),
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=MAIL_RETRY,
        )
        return record.model_copy(update={"mailed": True})
