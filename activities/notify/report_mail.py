"""The mail of a scheduled report: a short text with the file attached, in the user's language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from activities.notify.email import EmailSender
from activities.notify.errors import Outbound, permanent
from activities.notify.render import Message
from core.settings import Settings
from domain.notify import NotifyChannel, language
from models import Notification, NotificationPreference, ReportRun, User

REPORT_TEMPLATE = "report_ready"
Send = Callable[[Outbound], Awaitable[None]]


class ReportGone(Exception):
    """The run or its recipient no longer exists: nothing to send."""


def report_message(lang: str, schedule: str, start: str, end: str, link: str) -> Message:
    """Subject and body naming the report and its period."""
    if lang == "zh":
        subject = f"定期报表：{schedule}（{start} 至 {end}）"
        body = f"您订阅的报表「{schedule}」已生成，统计周期 {start} 至 {end}，见附件。\n{link}"
    else:
        subject = f"Scheduled report: {schedule} ({start} to {end})"
        body = f"Your report “{schedule}” for {start} to {end} is attached.\n{link}"
    return Message(subject=subject, body=body + "\n", short=subject)


async def report_send(
    session: AsyncSession, row: Notification, sender: EmailSender, settings: Settings
) -> Send:
    """The send step of a report notice: email only, with the stored file attached."""
    if row.channel != NotifyChannel.EMAIL:
        raise permanent(f"reports are mailed, not sent by {row.channel}")
    user = await session.get(User, row.user_id) if row.user_id is not None else None
    run = await session.get(ReportRun, int(row.payload["run_id"]))
    if user is None or not user.is_active or run is None or run.content is None:
        raise ReportGone("the recipient or the report file is gone")
    if not settings.smtp_host:
        raise permanent("the email channel is not configured")
    prefs = await session.get(NotificationPreference, user.id)
    lang = language(prefs.locale if prefs else None, settings.notify_default_locale)
    base = (settings.public_base_url or f"http://{settings.api_host}:{settings.api_port}").rstrip(
        "/"
    )
    link = f"{base}/api/v1/report-runs/{run.id}/file"
    p = row.payload
    message = report_message(lang, p["schedule"], p["period_start"], p["period_end"], link)
    mail = sender.compose(to=user.email, message=message, key=row.idempotency_key, lang=lang)
    maintype, _, subtype = (run.content_type or "application/octet-stream").partition("/")
    mail.add_attachment(
        run.content, maintype=maintype, subtype=subtype, filename=run.filename or "report"
    )

    async def send(_: Outbound) -> None:
        await sender.send(mail)

    return send
