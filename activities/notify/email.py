"""Email through SMTP (aiosmtplib): plain TCP, STARTTLS or implicit TLS, per settings."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib
from email_validator import EmailNotValidError, validate_email

from activities.notify.errors import permanent, transient
from activities.notify.render import Message
from core.settings import Settings


class EmailSender:
    """One SMTP conversation per message; the Message-ID is stable across retries."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def compose(
        self, *, to: str, message: Message, key: str, lang: str, tag: str | None = None
    ) -> EmailMessage:
        """The MIME message; an invalid address is a permanent failure.

        `tag` becomes the Message-ID's left part, so a reply's In-Reply-To names it.
        """
        try:
            address = validate_email(to, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise permanent("invalid email address") from exc
        sender = self._settings.smtp_from or "closedloop@localhost"
        domain = sender.rpartition("@")[2] or "localhost"
        mail = EmailMessage()
        mail["From"] = sender
        mail["To"] = address
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(usegmt=True)
        # Receivers that deduplicate by Message-ID see a re-sent message as the same one.
        left = tag or hashlib.sha256(key.encode()).hexdigest()[:40]
        mail["Message-ID"] = f"<{left}@{domain}>"
        mail["Content-Language"] = "zh-CN" if lang == "zh" else "en"
        mail.set_content(message.body)
        return mail

    async def send(self, mail: EmailMessage) -> None:
        """Hand the message to the SMTP server; 5xx answers are permanent, the rest retried."""
        s = self._settings
        try:
            await aiosmtplib.send(
                mail,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username or None,
                password=s.smtp_password.get_secret_value() or None,
                use_tls=s.smtp_tls == "tls",
                start_tls=s.smtp_tls == "starttls",
                validate_certs=s.smtp_validate_certs,
                timeout=s.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if codes and all(500 <= code < 600 for code in codes):
                raise permanent(f"SMTP server refused the recipient ({codes[0]})") from exc
            raise transient(f"SMTP server deferred the recipient ({codes})") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise permanent(f"SMTP server answered {exc.code}") from exc
            raise transient(f"SMTP server answered {exc.code}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise transient(f"SMTP: {type(exc).__name__}") from exc
