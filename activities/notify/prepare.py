"""Turn an outbox row into a send: resolve the address at delivery time, render the message."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from activities.notify.email import EmailSender
from activities.notify.errors import Outbound, permanent
from activities.notify.render import Message, Renderer
from activities.notify.report_mail import REPORT_TEMPLATE, report_send
from activities.notify.robots import send_dingtalk, send_feishu, send_wecom
from activities.notify.sms import SmsGateway
from activities.notify.webhook import send_webhook, webhook_body, webhook_secrets
from core import pii
from core.settings import Settings
from core.tokens import hash_token, push_message_tag, push_token, push_url, status_url
from domain.notify import (
    PUSH_RECIPIENT_PREFIX,
    NotifyChannel,
    is_push,
    language,
    redelivery_root,
)
from models import (
    Customer,
    CustomerContact,
    Notification,
    NotificationPreference,
    PublicToken,
    Ticket,
    User,
    WebhookSubscription,
)

Send = Callable[[Outbound], Awaitable[None]]


class Skipped(Exception):
    """Nothing to send any more (recipient deactivated, subscription switched off)."""


class Preparer:
    """Holds the templates and channel adapters; `prepare` reads, it never sends."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._renderer = Renderer()
        self._email = EmailSender(settings)
        self._sms = SmsGateway(settings)

    async def prepare(self, session: AsyncSession, row: Notification) -> Send:
        """Resolve the address at delivery time and render the message."""
        if row.template == REPORT_TEMPLATE:  # a scheduled report: no ticket, a file attached
            return await report_send(session, row, self._email, self._settings)
        ticket = await session.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
        if row.channel == NotifyChannel.WEBHOOK:
            return await self._webhook(session, row, ticket)
        if is_push(row.recipient):
            return await self._push(session, row)
        if row.recipient == "customer":
            if ticket is None:
                raise Skipped("the ticket is gone")
            return await self._to_customer(session, row, ticket)
        if ticket is None and row.ticket_id is not None:
            raise Skipped("the ticket is gone")
        return await self._to_user(session, row, ticket)

    async def _webhook(
        self, session: AsyncSession, row: Notification, ticket: Ticket | None
    ) -> Send:
        sub_id = row.recipient.removeprefix("webhook:")
        sub = await session.get(WebhookSubscription, int(sub_id)) if sub_id.isdigit() else None
        if sub is None or not sub.active:
            raise Skipped("the webhook subscription is inactive")
        # A redelivery sends the event's first document again, under its key.
        root_id = redelivery_root(row.idempotency_key)
        first = await session.get(Notification, root_id) if root_id is not None else None
        event_row = first or row
        url, body = sub.url, webhook_body(event_row, ticket)
        key, event, delivery = event_row.idempotency_key, row.template, str(row.id)

        async def send(out: Outbound) -> None:
            # Signed at send time: the timestamp is this attempt's, the secrets today's.
            now = datetime.now(UTC)
            secrets = webhook_secrets(sub, now)
            await send_webhook(
                out,
                url=url,
                secrets=secrets,
                body=body,
                key=key,
                event=event,
                now=now,
                delivery=delivery,
            )

        return send

    async def _to_customer(self, session: AsyncSession, row: Notification, ticket: Ticket) -> Send:
        contact = pii.unseal_contact(ticket.contact) or {}
        lang = language(None, self._settings.notify_default_locale)
        link = await self._status_link(session, row, ticket)
        message = self._render(row, ticket, lang, link, self._settings.timezone)
        if row.channel == NotifyChannel.EMAIL:
            return self._mail(contact.get("email"), message, row.idempotency_key, lang)
        if row.channel == NotifyChannel.SMS:
            return self._text(contact.get("phone"), message.short, row.idempotency_key)
        raise permanent(f"customers cannot be reached by {row.channel}")

    async def _push(self, session: AsyncSession, row: Notification) -> Send:
        """A follow-up plan's push: to the customer's primary contact, with a tracked link."""
        customer_id = row.recipient.removeprefix(PUSH_RECIPIENT_PREFIX)
        customer = await session.get(Customer, int(customer_id)) if customer_id.isdigit() else None
        if customer is None:
            raise Skipped("the customer is gone")
        contact = await session.scalar(
            select(CustomerContact).where(
                CustomerContact.customer_id == customer.id, CustomerContact.is_primary
            )
        )
        if contact is None:
            raise Skipped("the customer has no primary contact")
        lang = language(None, self._settings.notify_default_locale)
        secret = self._settings.secret_key.get_secret_value().encode()
        token = push_token(secret, int(row.payload["push_id"]))
        link = push_url(self._base_url(), token)
        message = self._renderer.render(
            f"push_{row.template}",
            lang,
            ticket={},
            customer={"name": customer.name, "contact": pii.unseal_opt(contact.name)},
            data=row.payload,
            link=link,
            timezone=self._settings.timezone,
        )
        if row.channel == NotifyChannel.EMAIL:
            address, key = pii.unseal_opt(contact.email), row.idempotency_key
            return self._mail(address, message, key, lang, tag=push_message_tag(token))
        if row.channel == NotifyChannel.SMS:
            return self._text(pii.unseal_opt(contact.phone), message.short, row.idempotency_key)
        raise permanent(f"customers cannot be reached by {row.channel}")

    async def _to_user(
        self, session: AsyncSession, row: Notification, ticket: Ticket | None
    ) -> Send:
        user = await session.get(User, row.user_id) if row.user_id is not None else None
        if user is None or not user.is_active:
            raise Skipped("the recipient is no longer active")
        prefs = await session.get(NotificationPreference, user.id)
        lang = language(prefs.locale if prefs else None, self._settings.notify_default_locale)
        tz = prefs.timezone if prefs else self._settings.timezone
        link = f"{self._base_url()}/api/v1/tickets/{ticket.number}" if ticket else self._base_url()
        message = self._render(row, ticket, lang, link, tz)
        key = row.idempotency_key
        if row.channel == NotifyChannel.EMAIL:
            return self._mail(user.email, message, key, lang)
        if row.channel == NotifyChannel.SMS:
            return self._text(pii.unseal_opt(prefs.phone if prefs else None), message.short, key)
        url = pii.unseal_opt(
            {
                NotifyChannel.WECOM: prefs.wecom_webhook_url if prefs else None,
                NotifyChannel.DINGTALK: prefs.dingtalk_webhook_url if prefs else None,
                NotifyChannel.FEISHU: prefs.feishu_webhook_url if prefs else None,
            }.get(NotifyChannel(row.channel))
        )
        if not url:
            raise permanent(f"no {row.channel} address in the recipient's preferences")
        return self._robot(NotifyChannel(row.channel), url, prefs, message)

    def _mail(
        self, address: str | None, message: Message, key: str, lang: str, tag: str | None = None
    ) -> Send:
        if not address:
            raise permanent("no email address")
        if not self._settings.smtp_host:
            raise permanent("the email channel is not configured")
        mail = self._email.compose(to=address, message=message, key=key, lang=lang, tag=tag)

        async def send(_: Outbound) -> None:
            await self._email.send(mail)

        return send

    def _text(self, phone: str | None, text: str, key: str) -> Send:
        if not phone:
            raise permanent("no phone number")
        if not self._settings.sms_gateway_url:
            raise permanent("the SMS channel is not configured")

        async def send(out: Outbound) -> None:
            await self._sms.send(out, phone=phone, text=text, key=key)

        return send

    def _robot(
        self,
        channel: NotifyChannel,
        url: str,
        prefs: NotificationPreference | None,
        message: Message,
    ) -> Send:
        async def send(out: Outbound) -> None:
            now = datetime.now(UTC)
            if channel is NotifyChannel.WECOM:
                await send_wecom(out, url=url, message=message)
            elif channel is NotifyChannel.DINGTALK:
                secret = pii.unseal_opt(prefs.dingtalk_secret if prefs else None)
                now_ms = int(now.timestamp() * 1000)
                await send_dingtalk(out, url=url, secret=secret, message=message, now_ms=now_ms)
            else:
                secret = pii.unseal_opt(prefs.feishu_secret if prefs else None)
                now_s = int(now.timestamp())
                await send_feishu(out, url=url, secret=secret, message=message, now_s=now_s)

        return send

    def _render(
        self, row: Notification, ticket: Ticket | None, lang: str, link: str, tz: str
    ) -> Message:
        return self._renderer.render(
            row.template,
            lang,
            ticket=ticket_context(ticket) if ticket is not None else {},
            data=row.payload,
            link=link,
            timezone=tz,
        )

    def _base_url(self) -> str:
        s = self._settings
        return (s.public_base_url or f"http://{s.api_host}:{s.api_port}").rstrip("/")

    async def _status_link(self, session: AsyncSession, row: Notification, ticket: Ticket) -> str:
        """A status-page token derived from the row's key: the same link on every retry."""
        secret = self._settings.secret_key.get_secret_value().encode()
        digest = hmac.new(secret, f"status-link:{row.idempotency_key}".encode(), hashlib.sha256)
        token = base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")
        await session.execute(
            insert(PublicToken)
            .values(token_hash=hash_token(token), ticket_number=ticket.number, kind="status")
            .on_conflict_do_nothing()
        )
        return status_url(self._base_url(), token)


def ticket_context(ticket: Ticket) -> dict[str, Any]:
    """What templates may show of a ticket (never its contact details)."""
    return {
        "number": ticket.number,
        "title": ticket.title,
        "status": ticket.status,
        "priority": ticket.priority,
        "category": ticket.category,
    }
