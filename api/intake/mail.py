"""Inbound mail (aiosmtpd): new mail becomes an email ticket, a reply a customer comment."""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.followups.service import mark_pushes_opened
from api.intake import service
from api.tickets import service as tickets
from core import pii
from core.errors import AppError, Conflict
from core.settings import Settings
from core.tokens import pushes_replied_to, ticket_for_token
from domain.tickets import Channel
from models import Category, Ticket
from workflows.ticket_types import CommentInput, Contact

log = logging.getLogger("closedloop.mail")

NUMBER_IN_SUBJECT = re.compile(r"\b(FB\d{11,})\b", re.I)
QUOTE_HEADER = re.compile(r"^(On .+ wrote:|-+ ?Original Message ?-+|在.+写道[:：])\s*$")
MIN_TOKEN_TAG = 32
MAX_DESCRIPTION = 10_000


@dataclass(frozen=True)
class Mail:
    sender_name: str | None
    sender_email: str
    subject: str
    body: str
    message_id: str | None
    tags: list[str]
    references: str = ""  # In-Reply-To and References: the messages this one answers


def parse_mail(content: bytes, recipients: list[str]) -> Mail:
    """The parts of a message intake needs; recipient tags come from `local+tag@domain`."""
    message = BytesParser(policy=policy.default).parsebytes(content)
    assert isinstance(message, EmailMessage)
    name, address = parseaddr(str(message.get("From", "")))
    part = message.get_body(preferencelist=("plain", "html"))
    body = ""
    if isinstance(part, EmailMessage):
        body = str(part.get_content())
        if part.get_content_subtype() == "html":
            body = html.unescape(re.sub(r"<[^>]+>", " ", body))
    tags = [rcpt.split("@", 1)[0].split("+", 1)[1] for rcpt in recipients if "+" in rcpt]
    return Mail(
        sender_name=name or None,
        sender_email=address.strip(),
        subject=re.sub(r"\s+", " ", str(message.get("Subject", ""))).strip()[:200],
        body=body.strip(),
        message_id=str(message.get("Message-ID", "")).strip()[:200] or None,
        tags=tags,
        references=" ".join(str(message.get(h, "")) for h in ("In-Reply-To", "References"))[
            :10_000
        ],
    )


def reply_text(body: str) -> str:
    """The new part of a reply: quoted lines and everything after the quote header dropped."""
    kept: list[str] = []
    for line in body.splitlines():
        if QUOTE_HEADER.match(line.strip()):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line)
    return "\n".join(kept).strip()


class InboundMail:
    """The aiosmtpd handler: one database transaction and at most one workflow call per mail."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], client: Client, settings: Settings
    ) -> None:
        self.sessions, self.client, self.settings = sessions, client, settings

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        try:
            mail = parse_mail(content, [str(r) for r in envelope.rcpt_tos])
            if "@" not in mail.sender_email:
                return "550 5.1.7 a valid From address is required"
            return f"250 2.0.0 accepted {await self.accept(mail)}"
        except AppError as exc:
            return f"550 5.6.0 {exc.message}"
        except Exception:
            log.exception("inbound mail failed; the sender will retry")
            return "451 4.3.0 temporary failure, try again later"

    async def accept(self, mail: Mail) -> str:
        """A reply to a known ticket becomes a comment; anything else a new ticket.

        A reply to a plan's push also counts as the customer engaging with that push.
        """
        await self._mark_pushes_opened(mail)
        async with self.sessions() as session:
            ticket = await self._replied_ticket(session, mail)
            if ticket is not None:
                text = reply_text(mail.body) or mail.subject
                arg = CommentInput(
                    actor=service.CUSTOMER, body=text[:5_000], public=True, by_customer=True
                )
                key = f"mail:{mail.message_id}" if mail.message_id else None
                try:
                    await tickets.run_update(
                        self.client, self.settings, ticket, "comment", arg, key
                    )
                    return f"reply to {ticket.number}"
                except Conflict:
                    pass  # a closed ticket takes no replies: the mail opens a new ticket
            return f"ticket {await self._new_ticket(session, mail)}"

    async def _mark_pushes_opened(self, mail: Mail) -> None:
        secret = self.settings.secret_key.get_secret_value().encode()
        replied = pushes_replied_to(secret, mail.references)
        if not replied:
            return
        async with self.sessions.begin() as session:
            await mark_pushes_opened(session, replied)

    async def _replied_ticket(self, session: AsyncSession, mail: Mail) -> Ticket | None:
        for tag in mail.tags:
            if len(tag) >= MIN_TOKEN_TAG:
                ticket = await ticket_for_token(session, tag)
                if ticket is not None:
                    return ticket
        found = NUMBER_IN_SUBJECT.search(mail.subject)
        if found is None:
            return None
        # Numbers are guessable: only the ticket's own contact may reply by number (matched
        # by the blind index of the address, which is stored sealed).
        sender = pii.email_index(mail.sender_email)
        if sender is None:
            return None
        return await session.scalar(
            select(Ticket).where(
                Ticket.number == found[1].upper(), Ticket.contact_email_bidx == sender
            )
        )

    async def _new_ticket(self, session: AsyncSession, mail: Mail) -> str:
        code = next(
            (tag for tag in mail.tags if len(tag) < MIN_TOKEN_TAG),
            self.settings.inbound_mail_default_category,
        )
        category = await session.scalar(
            select(Category).where(Category.code == code, Category.active)
        )
        if category is None:
            category = await service.active_category(
                session, self.settings.inbound_mail_default_category, "inbound_mail_category"
            )
        description = (mail.body or mail.subject or "(empty message)")[:MAX_DESCRIPTION]
        fingerprint = hashlib.sha256(
            f"{mail.sender_email}\n{mail.subject}\n{mail.body}".encode()
        ).hexdigest()
        submitted = await service.submit(
            session,
            self.client,
            self.settings,
            category=category,
            description=description,
            channel=Channel.EMAIL,
            contact=Contact(name=mail.sender_name, email=mail.sender_email),
            title=mail.subject or None,
            idempotency_key=mail.message_id,
            fingerprint=fingerprint,
        )
        return submitted.number


async def start_mail_server(handler: InboundMail, host: str, port: int) -> asyncio.Server:
    """Serve SMTP on the running loop, so the handler shares its engine and Temporal client."""
    loop = asyncio.get_running_loop()
    limit = handler.settings.smtp_inbound_max_bytes

    def protocol() -> SMTP:
        # An explicit hostname: otherwise aiosmtpd resolves the FQDN (DNS) per connection.
        return SMTP(
            handler,
            data_size_limit=limit,
            enable_SMTPUTF8=True,
            hostname="closedloop",
            ident="closedloop intake",
        )

    return await loop.create_server(protocol, host, port)


async def run_mail(settings: Settings) -> None:
    """The `closedloop mail` process: serve until cancelled."""
    from core.db import make_engine, make_sessionmaker
    from core.temporal import connect

    client = await connect(settings)
    engine = make_engine(settings.database_url, pool_size=2)
    handler = InboundMail(make_sessionmaker(engine), client, settings)
    server = await start_mail_server(
        handler, settings.smtp_inbound_host, settings.smtp_inbound_port
    )
    log.info("inbound mail on %s:%s", settings.smtp_inbound_host, settings.smtp_inbound_port)
    try:
        async with server:
            await server.serve_forever()
    finally:
        await engine.dispose()
