"""Record a NotificationDelivery history of a plan's push (heartbeating delivery activity).

`python -m tests.replay.record_notifications` writes tests/replay/histories/notification/
push_delivered.json: an upgrade push mailed through a local SMTP server to the customer's
primary contact. The histories next to it were recorded before the delivery heartbeated.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select
from temporalio.client import WorkflowHistory

from domain.cadence import PlanChannel
from models import Notification
from tests.notify_support import SmtpServer
from tests.replay.record import HISTORIES, record_scenarios, report
from tests.replay.record_plans import RESULT_TIMEOUT, plan_desk
from tests.workflow.conftest import Desk
from workflows.followup_types import UpgradeAvailable

NOTIFICATION_HISTORIES = HISTORIES / "notification"


async def push_delivered(desk: Desk) -> WorkflowHistory:
    """An upgrade reminder on an email plan: the push is mailed once, then the plan ends."""
    plans = plan_desk(desk)
    people = await plans.people()
    customer_id = await plans.customer(people, tier="core", tags=["ERP"])
    plan = await plans.start(people, customer_id, channels=[PlanChannel.EMAIL])
    await plan.signal("upgrade_available", UpgradeAvailable(tag="ERP", product="v9"))
    async with desk.sessions() as session:
        notice = await session.scalar(
            select(Notification.id).where(
                Notification.payload["plan_id"].as_integer() == plan.id,
                Notification.channel == "email",
            )
        )
    assert notice is not None, "the push was not queued"
    handle = desk.env.client.get_workflow_handle(f"notify-{notice}")
    await asyncio.wait_for(handle.result(), timeout=RESULT_TIMEOUT)
    await plan.update("cancel", "recorded")
    return await handle.fetch_history()


async def _as_is(history: WorkflowHistory) -> WorkflowHistory:
    return history


async def record() -> list[Path]:
    with SmtpServer() as smtp:
        return await record_scenarios(
            NOTIFICATION_HISTORIES,
            {"push_delivered": push_delivered},
            _as_is,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_tls="none",
            smtp_from="care@closedloop.test",
            push_quiet_start=None,
        )


if __name__ == "__main__":
    report(record)
