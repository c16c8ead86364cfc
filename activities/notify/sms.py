"""SMS through a configurable HTTP gateway: JSON POST with a bearer token."""

from __future__ import annotations

import json

from activities.notify.errors import Outbound, permanent
from core.settings import Settings
from domain.notify import normalize_phone


class SmsGateway:
    """`{"to", "text", "idempotency_key"}` to the gateway URL; the key also rides as a header."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def send(self, out: Outbound, *, phone: str, text: str, key: str) -> None:
        """Send one text; an invalid number or a 4xx answer is permanent."""
        to = normalize_phone(phone)
        if to is None:
            raise permanent("invalid phone number")
        body = json.dumps({"to": to, "text": text, "idempotency_key": key}, ensure_ascii=False)
        headers = {"Idempotency-Key": key}
        token = self._settings.sms_gateway_token.get_secret_value()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        await out.post(
            "SMS gateway",
            self._settings.sms_gateway_url,
            content=body.encode(),
            headers=headers,
        )
