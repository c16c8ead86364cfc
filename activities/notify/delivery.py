"""The delivery activities: send one outbox row through its channel, record the outcome."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notify.breaker import destination_of, is_parked, record_failure, record_success
from activities.notify.errors import REFUSED, Exchange, Outbound
from activities.notify.guard import guarded_client
from activities.notify.prepare import Preparer, Skipped
from activities.notify.report_mail import ReportGone
from core.settings import Settings
from domain.notify import PING_TEMPLATE
from domain.outbound import parse_allowlist
from models import Notification
from workflows.notification import DeliverNotification, DeliveryReport, FailNotification

HEARTBEAT_EVERY_SECONDS = 2.0
PARKED = "the channel is parked after repeated failures; a test send or an admin resumes it"
log = logging.getLogger("closedloop.notify")


class NotifyActivities:
    """Holds the session factory, settings and the message preparer."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings
        self._preparer = Preparer(settings)
        self._allowlist = parse_allowlist(settings.outbound_allowlist)
        # Built once: loading the CA bundle per delivery costs more than the POST itself.
        self._tls = httpx.create_ssl_context()

    @activity.defn(name="deliver_notification")
    async def deliver_notification(self, inp: DeliverNotification) -> DeliveryReport:
        """Send a pending row once; a row already delivered or failed is never sent again."""
        async with self._sessions.begin() as session:
            row = await session.get(Notification, inp.notification_id, with_for_update=True)
            if row is None:
                return DeliveryReport(status="skipped", detail="the notification is gone")
            if row.status != "pending":
                return DeliveryReport(status="skipped", detail=f"already {row.status}")
            destination = destination_of(row)
            # A test send goes through a parked channel: its success is what resumes it.
            paused = destination and row.template != PING_TEMPLATE
            if paused and await is_parked(session, destination or ""):
                row.status, row.error = "parked", PARKED
                return DeliveryReport(status="parked", detail=PARKED)
            row.attempts += 1
        try:
            async with self._sessions.begin() as session:
                send = await self._preparer.prepare(session, row)
        except (Skipped, ReportGone) as why:
            await self._finish(row, "skipped", error=str(why))
            return DeliveryReport(status="skipped", detail=str(why))
        exchange = Exchange()
        try:
            timeout = self._settings.notify_http_timeout_seconds
            async with guarded_client(self._allowlist, timeout, self._tls) as client:
                out = Outbound(client, self._settings.outbound_max_response_bytes, exchange)
                await heartbeating(send(out))
        except ApplicationError as err:
            self._log_failure(row, exchange, err)
            if err.type == REFUSED:  # nothing was sent, and retrying cannot change that
                await self._finish(row, "refused", error=err.message, exchange=exchange)
                return DeliveryReport(status="refused", detail=err.message)
            await self._note_attempt(row.id, exchange, err.message)
            raise
        await self._finish(row, "delivered", exchange=exchange)
        return DeliveryReport(status="delivered")

    @activity.defn(name="fail_notification")
    async def fail_notification(self, inp: FailNotification) -> None:
        """Record a permanent failure on the row; the ticket timeline shows it."""
        async with self._sessions() as session:
            row = await session.get(Notification, inp.notification_id)
        if row is not None:
            await self._finish(row, "failed", error=inp.error)

    def _log_failure(self, row: Notification, exchange: Exchange, err: ApplicationError) -> None:
        """One line per failed attempt; the traceback only when debugging."""
        log.warning(
            "delivery attempt failed: %s host=%s status=%s attempt=%d notification=%d: %s",
            row.channel,
            exchange.host,
            exchange.status,
            activity.info().attempt,
            row.id,
            err.message,
            exc_info=log.isEnabledFor(logging.DEBUG),
        )

    async def _note_attempt(self, notification_id: int, exchange: Exchange, error: str) -> None:
        """The answer of an attempt that will be retried: visible in the delivery list."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Notification)
                .where(Notification.id == notification_id, Notification.status == "pending")
                .values(
                    error=error, response_status=exchange.status, latency_ms=exchange.latency_ms
                )
            )

    async def _finish(
        self,
        row: Notification,
        status: str,
        *,
        error: str | None = None,
        exchange: Exchange | None = None,
    ) -> None:
        """Settle a pending row once; its destination's breaker counts the outcome."""
        now = datetime.now(UTC)
        values: dict[str, Any] = {"status": status, "error": error}
        if status == "delivered":
            values["delivered_at"] = now
        elif status in ("failed", "refused"):
            values["failed_at"] = now
        if exchange is not None and exchange.host is not None:
            values.update(response_status=exchange.status, latency_ms=exchange.latency_ms)
        destination = destination_of(row)
        async with self._sessions.begin() as session:
            settled = await session.scalar(
                update(Notification)
                .where(Notification.id == row.id, Notification.status == "pending")
                .values(**values)
                .returning(Notification.id)
            )
            if settled is None or destination is None:
                return
            if status == "delivered":
                await record_success(session, destination)
            elif status in ("failed", "refused"):
                threshold = self._settings.outbound_breaker_threshold
                await record_failure(session, destination, threshold, error)


async def heartbeating(work: Awaitable[None]) -> None:
    """Await `work`, heartbeating meanwhile so a lost worker is noticed within the timeout."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY_SECONDS)
            if done:
                return task.result()
            activity.heartbeat()
    finally:
        task.cancel()  # no-op once done; stops the send if the activity itself is cancelled
