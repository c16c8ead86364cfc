"""Local receivers that count deliveries by idempotency key: an SMTP sink and a webhook sink."""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from core.devstack import free_port


class _MailCounter:
    """aiosmtpd handler: counts accepted messages by Message-ID (derived from the key)."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = (envelope.original_content or b"").decode(errors="replace")
        message_id = ""
        for line in content.splitlines():
            if line.lower().startswith("message-id:"):
                message_id = line.split(":", 1)[1].strip()
                break
            if not line:
                break
        with self._lock:
            self.received[message_id] += 1
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on a free loopback port, in its own thread."""

    def __init__(self) -> None:
        self.port = free_port()
        self._handler = _MailCounter()
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)

    @property
    def received(self) -> Counter[str]:
        """Message-ID → how many times it arrived."""
        return self._handler.received

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


class WebhookSink:
    """An HTTP server that answers 204 to every POST and counts its Idempotency-Key."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: Counter[str] = Counter()
        lock = threading.Lock()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                with lock:
                    received[self.headers.get("Idempotency-Key") or ""] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
