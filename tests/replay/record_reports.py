"""Record a ReportRun history: render a week's PDF, then queue its mails.

`python -m tests.replay.record_reports` writes tests/replay/histories/reports/*.json.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

from temporalio.client import WorkflowHistory

from models import ReportSchedule
from tests.api.report_support import seed_week
from tests.notify_support import SmtpServer
from tests.replay.record import HISTORIES, record_scenarios, report
from tests.workflow.conftest import Desk
from workflows.report_run import ReportRunInput, ReportRunWorkflow

REPORT_HISTORIES = HISTORIES / "reports"


async def report_run_mailed(desk: Desk) -> WorkflowHistory:
    """A weekly PDF for one department, mailed to its manager."""
    staff = await desk.staff()
    await seed_week(desk.sessions.kw["bind"], staff.department_id)
    async with desk.sessions.begin() as session:
        row = ReportSchedule(
            name="weekly",
            reports=["kpis"],
            cadence="weekly",
            department_id=staff.department_id,
            recipients=[staff.manager_id],
            format="pdf",
            timezone="Asia/Shanghai",
        )
        session.add(row)
        await session.flush()
        schedule_id = row.id
    handle = await desk.client.start_workflow(
        ReportRunWorkflow.run,
        ReportRunInput(schedule_id=schedule_id, period_start=date(2025, 9, 29)),
        id=f"report-run-record-{uuid.uuid4().hex[:8]}",
        task_queue=desk.settings.temporal_task_queue,
    )
    await handle.result()
    return await handle.fetch_history()


async def _as_is(history: WorkflowHistory) -> WorkflowHistory:
    return history


async def record() -> list[Path]:
    with SmtpServer() as smtp:
        return await record_scenarios(
            REPORT_HISTORIES,
            {"report_run_mailed": report_run_mailed},
            _as_is,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_tls="none",
            smtp_from="reports@closedloop.test",
        )


if __name__ == "__main__":
    report(record)
