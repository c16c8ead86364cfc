"""Personal data at rest: sealed contact fields, blind indexes, the access log, key rotation.

A sealed value is `enc:v1:` + base64 of a core.crypto envelope (AES-256-GCM, key id inside).
Values without the prefix are legacy clear text: `unseal` passes them through and
`closedloop keys rotate` seals them. Exact-match search and dedup use the blind index
(keyed HMAC of the normalized value), never the clear text.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.crypto import Keyring
from domain.customers import normalize_email, normalize_phone
from models import (
    CustomerContact,
    NotificationPreference,
    PiiAccess,
    Ticket,
    WebhookSubscription,
)

if TYPE_CHECKING:
    from core.settings import Settings

PREFIX = "enc:v1:"
# Binds at-rest ciphertexts to this use (Temporal payloads use another associated data).
_AAD = b"closedloop/pii"
CONTACT_FIELDS = ("name", "phone", "email")
_PHONE_CHARS = re.compile(r"[^0-9+]")
_ACCESS_SEEN = "pii_access_seen"
ACCESS_PENDING = "pii_access_pending"


_ring: Keyring | None = None


def keyring() -> Keyring:
    """The process keyring: from the settings on first use, or as set by `use_keyring`."""
    global _ring
    if _ring is None:
        from core.settings import get_settings

        _ring = get_settings().keyring()
    return _ring


def configure(settings: Settings) -> None:
    """Install the settings' keyring unless one is installed (first app or worker wins)."""
    global _ring
    if _ring is None:
        _ring = settings.keyring()


def use_keyring(ring: Keyring | None) -> Keyring | None:
    """Install the keyring (startup with explicit settings; rotation); the previous one."""
    global _ring
    previous, _ring = _ring, ring
    return previous


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def seal(value: str) -> str:
    """The sealed form of a clear value (a fresh nonce every time)."""
    return PREFIX + base64.b64encode(keyring().encrypt(value.encode(), _AAD)).decode()


def unseal(value: str) -> str:
    """The clear value; legacy clear values pass through unchanged."""
    if not is_sealed(value):
        return value
    return keyring().decrypt(base64.b64decode(value[len(PREFIX) :]), _AAD).decode()


def seal_opt(value: str | None) -> str | None:
    return seal(value) if value else value


def unseal_opt(value: str | None) -> str | None:
    return unseal(value) if value else value


def needs_reseal(value: str) -> bool:
    """Legacy clear text, or sealed under a key that is no longer the current one."""
    if not is_sealed(value):
        return True
    ring = keyring()
    return ring.kid_of(base64.b64decode(value[len(PREFIX) :])) != ring.current_kid


def phone_index(phone: str | None) -> str | None:
    """Blind index of the E.164 form (digits and + when the number does not parse)."""
    if not phone or not phone.strip():
        return None
    try:
        normalized = normalize_phone(phone)
    except ValueError:
        normalized = _PHONE_CHARS.sub("", phone)
    return keyring().blind_index("phone:" + normalized)


def email_index(email: str | None) -> str | None:
    """Blind index of the trimmed, lower-cased address."""
    if not email or not email.strip():
        return None
    try:
        normalized = normalize_email(email)
    except ValueError:
        normalized = email.strip().lower()
    return keyring().blind_index("email:" + normalized)


def normalized_phone_index(normalized: str) -> str:
    """Blind index of a phone already in E.164 form (import drafts, merge keys)."""
    return keyring().blind_index("phone:" + normalized)


def seal_contact(contact: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A ticket contact with name, phone and email sealed (other keys as they are)."""
    if not contact:
        return None
    return {
        k: seal(v) if k in CONTACT_FIELDS and isinstance(v, str) and v else v
        for k, v in contact.items()
    }


def unseal_contact(contact: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not contact:
        return None
    return {
        k: unseal(v) if k in CONTACT_FIELDS and isinstance(v, str) and v else v
        for k, v in contact.items()
    }


# --- access log -----------------------------------------------------------------------


def record_access(
    session: AsyncSession,
    user_id: int | None,
    resource: str,
    resource_id: int,
    fields: Iterable[str],
    reason: str,
) -> None:
    """Log one clear-text read in the session's transaction (once per session and resource).

    The request's session commits it (api.deps.get_session commits a pending log).
    """
    seen: set[tuple[str, int]] = session.info.setdefault(_ACCESS_SEEN, set())
    shown = sorted(set(fields))
    if not shown or (resource, resource_id) in seen:
        return
    seen.add((resource, resource_id))
    session.add(
        PiiAccess(
            at=datetime.now(UTC),
            user_id=user_id,
            resource=resource,
            resource_id=resource_id,
            fields=shown,
            reason=reason,
        )
    )
    session.info[ACCESS_PENDING] = True


# --- key rotation ---------------------------------------------------------------------


@dataclass
class RotationReport:
    contacts: int = 0
    tickets: int = 0
    preferences: int = 0
    webhooks: int = 0


# Sealed columns of notification preferences: the phone and the robots' credentials.
PREFERENCE_FIELDS = (
    "phone",
    "wecom_webhook_url",
    "dingtalk_webhook_url",
    "dingtalk_secret",
    "feishu_webhook_url",
    "feishu_secret",
)


async def _reseal_columns(
    sessions: async_sessionmaker[AsyncSession],
    table: Any,
    key: Any,
    fields: Sequence[str],
    batch: int,
) -> int:
    """Re-seal `fields` of every row of `table`, `batch` rows per transaction."""
    changed, after = 0, None
    columns = [getattr(table, name) for name in fields]
    while True:
        async with sessions.begin() as session:
            query = select(key, *columns).order_by(key).limit(batch).with_for_update()
            if after is not None:
                query = query.where(key > after)
            rows = list(await session.execute(query))
            if not rows:
                return changed
            for row in rows:
                after = row[0]
                values = {
                    name: seal(unseal(value))
                    for name, value in zip(fields, row[1:], strict=True)
                    if value and needs_reseal(value)
                }
                if values:
                    changed += 1
                    await session.execute(update(table).where(key == after).values(**values))


async def _rotate_contacts(sessions: async_sessionmaker[AsyncSession], batch: int) -> int:
    changed, after = 0, 0
    while True:
        async with sessions.begin() as session:
            rows = list(
                await session.scalars(
                    select(CustomerContact)
                    .where(CustomerContact.id > after)
                    .order_by(CustomerContact.id)
                    .limit(batch)
                    .with_for_update()
                )
            )
            if not rows:
                return changed
            for row in rows:
                after = row.id
                values: dict[str, Any] = {}
                for name in CONTACT_FIELDS:
                    value = getattr(row, name)
                    if value and needs_reseal(value):
                        values[name] = seal(unseal(value))
                phone_bidx = phone_index(unseal_opt(row.phone))
                email_bidx = email_index(unseal_opt(row.email))
                if phone_bidx != row.phone_bidx:
                    values["phone_bidx"] = phone_bidx
                if email_bidx != row.email_bidx:
                    values["email_bidx"] = email_bidx
                if values:
                    changed += 1
                    await session.execute(
                        update(CustomerContact).where(CustomerContact.id == row.id).values(**values)
                    )


async def _rotate_tickets(sessions: async_sessionmaker[AsyncSession], batch: int) -> int:
    changed, after = 0, 0
    while True:
        async with sessions.begin() as session:
            rows = list(
                await session.execute(
                    select(
                        Ticket.id,
                        Ticket.contact,
                        Ticket.contact_phone_bidx,
                        Ticket.contact_email_bidx,
                    )
                    .where(Ticket.id > after, Ticket.contact.is_not(None))
                    .order_by(Ticket.id)
                    .limit(batch)
                    .with_for_update()
                )
            )
            if not rows:
                return changed
            for ticket_id, contact, phone_bidx, email_bidx in rows:
                after = ticket_id
                contact = contact or {}  # a JSON null is not SQL NULL
                clear = unseal_contact(contact) or {}
                values: dict[str, Any] = {}
                if any(
                    isinstance(contact.get(k), str) and contact[k] and needs_reseal(contact[k])
                    for k in CONTACT_FIELDS
                ):
                    resealed = dict(contact)
                    for k in CONTACT_FIELDS:
                        value = contact.get(k)
                        if isinstance(value, str) and value and needs_reseal(value):
                            resealed[k] = seal(clear[k])
                    values["contact"] = resealed
                phone = phone_index(clear.get("phone"))
                email = email_index(clear.get("email"))
                if phone != phone_bidx:
                    values["contact_phone_bidx"] = phone
                if email != email_bidx:
                    values["contact_email_bidx"] = email
                if values:
                    changed += 1
                    await session.execute(
                        update(Ticket).where(Ticket.id == ticket_id).values(**values)
                    )


async def rotate(sessions: async_sessionmaker[AsyncSession], batch: int = 500) -> RotationReport:
    """Re-seal every value not under the current key (and legacy clear values), filling the
    blind indexes; one transaction per `batch` rows, so it can run beside live traffic."""
    contacts = await _rotate_contacts(sessions, batch)
    tickets = await _rotate_tickets(sessions, batch)
    prefs = NotificationPreference
    preferences = await _reseal_columns(sessions, prefs, prefs.user_id, PREFERENCE_FIELDS, batch)
    hooks = WebhookSubscription
    webhooks = await _reseal_columns(sessions, hooks, hooks.id, ("secret",), batch)
    return RotationReport(
        contacts=contacts, tickets=tickets, preferences=preferences, webhooks=webhooks
    )
