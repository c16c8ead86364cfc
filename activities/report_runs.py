"""Activities of a scheduled report run: render and store the file, queue one mail per person."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notify.outbox import DeliveryStarter
from activities.notify.report_mail import REPORT_TEMPLATE
from domain.notify import NotifyChannel
from domain.reports.filters import ReportFilters
from domain.reports.schedule import Cadence, FileFormat, Period, previous_period, run_filename
from models import Notification, ReportRun, ReportSchedule
from services.reports.exports.pdf_export import pdf_bytes
from services.reports.exports.xlsx_export import xlsx_bytes
from services.reports.scope import Viewer
from services.reports.service import run_report
from workflows.report_run import MailReportRun, RenderReportRun, RunRecord

CONTENT_TYPES = {
    FileFormat.PDF: "application/pdf",
    FileFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# The schedule's department (if any) is already in the filters: render with full reach.
_RENDERER = Viewer(user_id=0, role="admin", department_id=None)


def _window(schedule: ReportSchedule, period: Period) -> ReportFilters:
    tz = ZoneInfo(schedule.timezone)
    return ReportFilters(
        start=datetime.combine(period.start, time(), tz),
        end=datetime.combine(period.end + timedelta(days=1), time(), tz),
        timezone=schedule.timezone,
        department_id=schedule.department_id,
    )


class ReportRunActivities:
    """Holds the session factory, the outbox starter and the PDF font setting."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        notifier: DeliveryStarter | None,
        font_path: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._notifier = notifier
        self._font = font_path

    @activity.defn(name="render_report_run")
    async def render_report_run(self, inp: RenderReportRun) -> RunRecord:
        """Render once per (schedule, period); a retry finds the stored file and returns it."""
        async with self._sessions.begin() as session:
            schedule = await session.get(ReportSchedule, inp.schedule_id)
            if schedule is None:
                raise ApplicationError("the schedule is gone", type="ScheduleGone")
            local_day = inp.fired_at.astimezone(ZoneInfo(schedule.timezone)).date()
            cadence = Cadence(schedule.cadence)
            # An explicit period start names the period itself; else the one before firing.
            anchor = local_day if inp.period_start is None else _after(cadence, inp.period_start)
            period = previous_period(cadence, anchor)
            run_id = await _claim(session, schedule.id, period)
            run = await session.get(ReportRun, run_id, with_for_update=True)
            assert run is not None
            if run.status != "done":
                fmt = FileFormat(schedule.format)
                body = await self._render(session, schedule, period, fmt)
                run.status, run.content, run.size = "done", body, len(body)
                run.sha256 = hashlib.sha256(body).hexdigest()
                run.filename = run_filename(schedule.name, period, fmt)
                run.content_type = CONTENT_TYPES[fmt]
                run.finished_at = datetime.now(UTC)
        return RunRecord(run_id=run_id, period_start=period.start, period_end=period.end)

    async def _render(
        self, session: AsyncSession, schedule: ReportSchedule, period: Period, fmt: FileFormat
    ) -> bytes:
        filters = _window(schedule, period)
        now = datetime.now(UTC)
        results = [
            await run_report(session, name, filters, _RENDERER, now) for name in schedule.reports
        ]
        if fmt is FileFormat.XLSX:
            return xlsx_bytes(results)
        title = f"{schedule.name} {period.start.isoformat()} — {period.end.isoformat()}"
        return pdf_bytes(results, title, self._font)

    @activity.defn(name="mail_report_run")
    async def mail_report_run(self, inp: MailReportRun) -> None:
        """One in-app notice and one email per recipient, keyed by run and person."""
        keys: list[str] = []
        async with self._sessions.begin() as session:
            run = await session.get(ReportRun, inp.run_id)
            if run is None:
                return
            schedule = await session.get(ReportSchedule, run.schedule_id)
            if schedule is None:
                return
            payload: dict[str, Any] = {
                "run_id": run.id,
                "schedule": schedule.name,
                "period_start": run.period_start.isoformat(),
                "period_end": run.period_end.isoformat(),
                "filename": run.filename,
            }
            email = self._notifier is not None and (
                NotifyChannel.EMAIL.value in self._notifier.channels
            )
            rows = []
            for user_id in dict.fromkeys(schedule.recipients):
                for channel in ("in_app", "email") if email else ("in_app",):
                    in_app = channel == "in_app"
                    key = f"report-run-{run.id}:{REPORT_TEMPLATE}:user:{user_id}:{channel}"
                    rows.append(
                        {
                            "idempotency_key": key,
                            "user_id": user_id,
                            "recipient": f"user:{user_id}",
                            "channel": channel,
                            "template": REPORT_TEMPLATE,
                            "payload": payload,
                            "status": "delivered" if in_app else "pending",
                            "delivered_at": datetime.now(UTC) if in_app else None,
                        }
                    )
                    if not in_app:
                        keys.append(key)
            if rows:
                await session.execute(insert(Notification).values(rows).on_conflict_do_nothing())
        if self._notifier is not None:
            await self._notifier.start(keys)


def _after(cadence: Cadence, start: date) -> date:
    """A day inside the period following the one that starts at `start`."""
    return start + timedelta(days=7) if cadence is Cadence.WEEKLY else start + timedelta(days=32)


async def _claim(session: AsyncSession, schedule_id: int, period: Period) -> int:
    """The run row of (schedule, period), inserted if new."""
    await session.execute(
        insert(ReportRun)
        .values(
            schedule_id=schedule_id,
            period_start=period.start,
            period_end=period.end,
            status="running",
        )
        .on_conflict_do_nothing(constraint="uq_report_runs_schedule_period")
    )
    run_id = await session.scalar(
        select(ReportRun.id).where(
            ReportRun.schedule_id == schedule_id, ReportRun.period_start == period.start
        )
    )
    assert run_id is not None
    return run_id
