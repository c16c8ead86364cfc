"""Generic outgoing webhooks: signed JSON with an Idempotency-Key; retries come from Temporal."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from activities.notify.errors import Outbound
from core import pii
from domain.notify import signing_secrets, webhook_signature
from models import Notification, Ticket, WebhookSubscription


def webhook_body(row: Notification, ticket: Ticket | None) -> bytes:
    """The JSON document; identical on every attempt, so its signature is too."""
    document: dict[str, Any] = {
        "id": row.idempotency_key,
        "event": row.template,
        "created_at": row.created_at.isoformat(),
        "data": row.payload,
        "ticket": None,
    }
    if ticket is not None:
        document["ticket"] = {
            "id": ticket.id,
            "number": ticket.number,
            "status": ticket.status,
            "priority": ticket.priority,
            "category": ticket.category,
            "department_id": ticket.department_id,
            "assignee_id": ticket.assignee_id,
        }
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode()


def webhook_secrets(sub: WebhookSubscription, now: datetime) -> list[str]:
    """The subscription's signing secrets at `now` (two while a rotation overlaps)."""
    previous = pii.unseal(sub.previous_secret) if sub.previous_secret else None
    return signing_secrets(pii.unseal(sub.secret), previous, sub.previous_secret_until, now)


async def send_webhook(
    out: Outbound,
    *,
    url: str,
    secrets: list[str],
    body: bytes,
    key: str,
    event: str,
    now: datetime,
    delivery: str,
) -> None:
    """POST with `X-Closedloop-Signature: t=<unix>,v1=<hex>`; the receiver deduplicates by key."""
    headers = {
        "X-Closedloop-Signature": webhook_signature(secrets, body, int(now.timestamp())),
        "X-Closedloop-Event": event,
        "Idempotency-Key": key,
        "X-Closedloop-Delivery": delivery,
        "User-Agent": "closedloop-webhooks/1",
    }
    await out.post("webhook", url, content=body, headers=headers)
