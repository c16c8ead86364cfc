"""A report run renders its period once and mails each recipient once, across retries."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from models import Notification, ReportRun, ReportSchedule, User
from tests.api.report_support import seed_week
from tests.notify_support import SmtpServer, eventually
from tests.workflow.conftest import Desk, Staff, start_time_skipping_env
from worker import build_worker
from workflows.report_run import ReportRunInput, ReportRunWorkflow, RunRecord

TASK_QUEUE = "closedloop-reports"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
async def rd(engine: AsyncEngine, settings: Settings, smtp: SmtpServer) -> AsyncIterator[Desk]:
    mail_settings = settings.model_copy(
        update={
            "temporal_task_queue": TASK_QUEUE,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "smtp_tls": "none",
            "smtp_from": "reports@closedloop.test",
            "public_base_url": "https://help.closedloop.test",
        }
    )
    env: WorkflowEnvironment = await start_time_skipping_env()
    try:
        async with build_worker(env.client, engine, mail_settings):
            yield Desk(env, engine, mail_settings)
    finally:
        await env.shutdown()


async def _schedule(desk: Desk, staff: Staff) -> int:
    async with desk.sessions.begin() as session:
        row = ReportSchedule(
            name="每周服务报表",
            reports=["kpis", "feedback-types"],
            cadence="weekly",
            department_id=staff.department_id,
            recipients=[staff.manager_id, staff.admin_id],
            format="pdf",
            timezone="Asia/Shanghai",
        )
        session.add(row)
        await session.flush()
        return row.id


async def _run(desk: Desk, schedule_id: int) -> RunRecord:
    return await desk.client.execute_workflow(
        ReportRunWorkflow.run,
        ReportRunInput(schedule_id=schedule_id, period_start=date(2025, 9, 29)),
        id=f"report-run-test-{uuid.uuid4().hex[:8]}",
        task_queue=TASK_QUEUE,
    )


async def test_a_run_mails_the_file_once_and_a_rerun_mails_nothing(
    rd: Desk, smtp: SmtpServer, engine: AsyncEngine
) -> None:
    staff = await rd.staff()
    await seed_week(engine, staff.department_id)
    schedule_id = await _schedule(rd, staff)
    first = await _run(rd, schedule_id)
    assert (first.period_start, first.period_end) == (date(2025, 9, 29), date(2025, 10, 5))
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session:
        manager = await session.get(User, staff.manager_id)
        assert manager is not None
    address = manager.email

    async def delivered() -> bool:
        return len(smtp.mailbox.to(address)) >= 1

    await eventually(delivered, "the report mail")
    second = await _run(rd, schedule_id)  # a retried run of the same period
    assert second.run_id == first.run_id
    async with sessions() as session:
        runs = await session.scalar(
            select(func.count()).where(ReportRun.schedule_id == schedule_id)
        )
        mails = list(
            await session.scalars(
                select(Notification)
                .where(Notification.template == "report_ready", Notification.channel == "email")
                .where(Notification.payload["run_id"].as_integer() == first.run_id)
            )
        )
    assert runs == 1
    assert sorted(m.user_id for m in mails) == sorted([staff.manager_id, staff.admin_id])

    async def all_delivered() -> bool:
        async with sessions() as session:
            states = await session.scalars(
                select(Notification.status).where(Notification.id.in_([m.id for m in mails]))
            )
            return all(s == "delivered" for s in states)

    await eventually(all_delivered, "both mails delivered")
    received = smtp.mailbox.to(address)
    assert len(received) == 1
    message = received[0]
    assert "每周服务报表" in message["Subject"]
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename().endswith("2025-09-29-2025-10-05.pdf")
    pdf = PdfReader(io.BytesIO(attachment.get_content()))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "产品质量" in text
    assert "关键指标" in text
