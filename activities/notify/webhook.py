"""Generic outgoing webhooks: signed JSON with an Idempotency-Key; retries come from Temporal."""

from __future__ import annotations

import json
from typing import Any

import httpx

from activities.notify.errors import post_json
from domain.notify import webhook_signature
from models import Notification, Ticket


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


async def send_webhook(
    client: httpx.AsyncClient, *, url: str, secret: str, body: bytes, key: str, event: str
) -> None:
    """POST with `X-Closedloop-Signature: sha256=<hex>`; the receiver deduplicates by key."""
    headers = {
        "X-Closedloop-Signature": webhook_signature(secret, body),
        "X-Closedloop-Event": event,
        "Idempotency-Key": key,
        "User-Agent": "closedloop-webhooks/1",
    }
    await post_json(client, "webhook", url, content=body, headers=headers)
