"""Delivers one outbox notification: waits out the recipient's quiet hours, then sends."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from domain.notify import QuietHours, quiet_until

# Error type of failures that no retry can fix (4xx answers, invalid addresses).
PERMANENT = "PermanentDeliveryFailure"
# Backoff 1 s, 2 s, 4 s … capped at 10 min: about an hour of attempts before giving up.
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=12,
    non_retryable_error_types=[PERMANENT],
)
DELIVERY_HEARTBEAT = timedelta(seconds=10)
# Recording the outcome is a Postgres write: it retries until the database answers.
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)


class DeliveryInput(BaseModel):
    """One outbox row; `quiet` is the recipient's window, ignored for urgent notices."""

    notification_id: int
    urgent: bool = False
    quiet: QuietHours | None = None


class DeliverNotification(BaseModel):
    notification_id: int


class FailNotification(BaseModel):
    notification_id: int
    error: str


class DeliveryReport(BaseModel):
    """delivered | skipped (already sent, or nobody to send to) | failed."""

    status: str
    detail: str | None = None


@workflow.defn(name="NotificationDelivery")
class NotificationDelivery:
    """Id `notify-<notification id>`: one execution per outbox row."""

    @workflow.run
    async def run(self, inp: DeliveryInput) -> DeliveryReport:
        if inp.quiet is not None and not inp.urgent:
            until = quiet_until(workflow.now(), inp.quiet)
            if until is not None:
                await workflow.sleep(until - workflow.now())
        try:
            report: DeliveryReport = await workflow.execute_activity(
                "deliver_notification",
                DeliverNotification(notification_id=inp.notification_id),
                result_type=DeliveryReport,
                start_to_close_timeout=timedelta(seconds=60),
                # The activity heartbeats while it sends: a worker that died mid-send is
                # noticed in seconds, not at the end of the minute.
                heartbeat_timeout=DELIVERY_HEARTBEAT,
                retry_policy=DELIVERY_RETRY,
            )
            return report
        except ActivityError as err:
            error = failure_reason(err)
        await workflow.execute_activity(
            "fail_notification",
            FailNotification(notification_id=inp.notification_id, error=error),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RECORD_RETRY,
        )
        return DeliveryReport(status="failed", detail=error)


def failure_reason(err: ActivityError) -> str:
    """The last attempt's error in one line, for the outbox row and the timeline."""
    cause = err.cause
    if isinstance(cause, ApplicationError):
        permanent = cause.non_retryable or cause.type == PERMANENT
        text = cause.message if permanent else f"retries exhausted: {cause.message}"
    elif isinstance(cause, TimeoutError):
        text = "delivery timed out"
    else:
        text = str(cause or err)
    return text[:500]
