"""Notification rules: channels, quiet hours in the recipient's timezone, locale, signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel


class NotifyChannel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    SMS = "sms"
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    FEISHU = "feishu"
    WEBHOOK = "webhook"


# Channels a person can choose for themselves (webhooks are admin subscriptions).
USER_CHANNELS = frozenset(
    {
        NotifyChannel.IN_APP,
        NotifyChannel.EMAIL,
        NotifyChannel.SMS,
        NotifyChannel.WECOM,
        NotifyChannel.DINGTALK,
        NotifyChannel.FEISHU,
    }
)
# Without saved preferences a person gets the inbox and an email.
DEFAULT_USER_CHANNELS = (NotifyChannel.IN_APP, NotifyChannel.EMAIL)
# Escalations reach people at night; everything else waits for their quiet hours to end.
URGENT_TEMPLATES = frozenset({"sla_escalated"})
LANGUAGES = ("zh", "en")
TEMPLATES = (
    "ticket_assigned",
    "sla_warning",
    "sla_breached",
    "sla_escalated",
    "tracking_reminder",
    "collaboration_requested",
    "ticket_reopened",
    "revisit_requested",
    "status_changed",
    "ticket_queued",
    # In-app notices about customers and follow-up plans, written to staff.
    "customer_approval_reminder",
    "customer_approval_escalated",
    "customer_approved",
    "customer_rejected",
    "follow_up_due",
    "follow_up_overdue",
    "birthday_greeting",
    "dormant_reactivation",
    "product_upgrade",
    # Automatic pushes of follow-up plans, written to the customer.
    "push_birthday_greeting",
    "push_dormant_reactivation",
    "push_product_upgrade",
    # Outbound channels: a test send, and the notice that a failing channel was parked.
    "ping",
    "channel_parked",
)
PING_TEMPLATE = "ping"
# A manual redelivery's key: `redeliver:<id of the event's first delivery>:<request key>`.
REDELIVERY_PREFIX = "redeliver:"


def redelivery_root(key: str) -> int | None:
    """The first delivery a redelivery repeats; None for a first delivery."""
    if not key.startswith(REDELIVERY_PREFIX):
        return None
    root = key.removeprefix(REDELIVERY_PREFIX).split(":", 1)[0]
    return int(root) if root.isdigit() else None


PARKED_TEMPLATE = "channel_parked"
# Channels with a circuit breaker of their own (a person's robots; webhooks per subscription).
BREAKER_CHANNELS = frozenset({"wecom", "dingtalk", "feishu"})


class QuietHours(BaseModel):
    """A daily window of local wall-clock time; `start > end` wraps past midnight."""

    start: time
    end: time
    timezone: str


def quiet_until(now: datetime, quiet: QuietHours) -> datetime | None:
    """The UTC instant the quiet window containing `now` ends; None outside quiet hours."""
    if quiet.start == quiet.end:
        return None
    tz = ZoneInfo(quiet.timezone)
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    day = local.date()
    if quiet.start < quiet.end:
        if not quiet.start <= clock < quiet.end:
            return None
    elif clock >= quiet.start:
        day += timedelta(days=1)
    elif clock >= quiet.end:
        return None
    # A wall time inside a DST gap resolves to the instant just after it.
    end = datetime.combine(day, quiet.end, tzinfo=tz).astimezone(UTC)
    return end if end > now else None


def is_urgent(template: str, priority: str | None) -> bool:
    """Urgent tickets and escalations ignore quiet hours."""
    return priority == "urgent" or template in URGENT_TEMPLATES


def language(locale: str | None, default: str = "zh") -> str:
    """The template language for a locale such as zh-CN, zh_Hant, en-US; else the default."""
    for candidate in (locale, default):
        if candidate:
            primary = candidate.replace("_", "-").split("-")[0].lower()
            if primary in LANGUAGES:
                return primary
    return LANGUAGES[0]


# A follow-up plan's push in the outbox: recipient `customer:<customer id>`, and a key made
# from the push's own key. (A ticket's customer is the recipient "customer", no id.)
PUSH_RECIPIENT_PREFIX = "customer:"
PUSH_NOTICE_PREFIX = "push:"


def push_recipient(customer_id: int) -> str:
    return f"{PUSH_RECIPIENT_PREFIX}{customer_id}"


def push_notice_key(push_key: str) -> str:
    return f"{PUSH_NOTICE_PREFIX}{push_key}"


def is_push(recipient: str) -> bool:
    return recipient.startswith(PUSH_RECIPIENT_PREFIX)


def template_file(template: str, lang: str) -> str:
    """The jinja2 file of a template in a language."""
    return f"{template}.{lang}.j2"


def user_channels(
    requested: Iterable[str], preferred: Iterable[str] | None, deliverable: Collection[str]
) -> list[str]:
    """The inbox always, plus the rule's and the person's own channels that can deliver."""
    wanted = {NotifyChannel.IN_APP.value, *requested}
    wanted.update(DEFAULT_USER_CHANNELS if preferred is None else preferred)
    return [
        c.value
        for c in NotifyChannel
        if c.value in wanted and (c is NotifyChannel.IN_APP or c.value in deliverable)
    ]


def customer_channel(contact: Mapping[str, Any] | None, enabled: Collection[str]) -> str | None:
    """Email when the customer left one, else SMS to their phone; None when unreachable."""
    if not contact:
        return None
    if contact.get("email") and NotifyChannel.EMAIL in enabled:
        return NotifyChannel.EMAIL.value
    if contact.get("phone") and NotifyChannel.SMS in enabled:
        return NotifyChannel.SMS.value
    return None


def customer_progress(event_type: str, data: Mapping[str, Any]) -> bool:
    """Timeline events the customer hears about (resolution has its own revisit notice)."""
    if event_type == "closed":
        return True
    return event_type == "status_changed" and data.get("to") != "resolved"


_PHONE = re.compile(r"\+?[0-9]{5,15}")


def normalize_phone(value: str | None) -> str | None:
    """Digits with an optional leading +, separators dropped; None when it is not a number."""
    if not value:
        return None
    compact = re.sub(r"[\s().-]", "", value)
    return compact if _PHONE.fullmatch(compact) else None


def subscribed(events: Iterable[str], event_type: str) -> bool:
    """Whether a webhook subscription wants a timeline event type."""
    return any(e in ("*", event_type) for e in events)


class HttpOutcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    PERMANENT = "permanent"


def http_outcome(status: int) -> HttpOutcome:
    """2xx delivered; 408, 429 and 5xx are worth retrying; any other answer will not change."""
    if 200 <= status < 300:
        return HttpOutcome.DELIVERED
    if status in (408, 429) or status >= 500:
        return HttpOutcome.RETRY
    return HttpOutcome.PERMANENT


def webhook_signature(secrets: Sequence[str], body: bytes, timestamp: int) -> str:
    """`X-Closedloop-Signature`: `t=<unix>,v1=<hex>` with one v1 per current secret.

    Each v1 is the hex HMAC-SHA256 of `"<t>.<body>"`: a receiver can reject old timestamps.
    """
    signed = f"{timestamp}.".encode() + body
    macs = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets]
    return ",".join([f"t={timestamp}", *(f"v1={mac}" for mac in macs)])


def signing_secrets(
    current: str, previous: str | None, previous_until: datetime | None, now: datetime
) -> list[str]:
    """The secrets that sign now: the current one, plus the previous during its overlap."""
    if previous and previous_until is not None and now < previous_until:
        return [current, previous]
    return [current]


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk robot `sign`: base64 HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu robot `sign`: base64 HMAC-SHA256 of nothing keyed by "timestamp\\nsecret"."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()
