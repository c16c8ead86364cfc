"""Real receivers for notification tests: an SMTP server (aiosmtpd) and an HTTP server."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.devstack import free_port

# How long a test waits for a delivery to arrive or a row to change (real time).
WAIT_SECONDS = 20.0
# The one loopback port the test settings allowlist: receivers listen here, one at a time.
RECEIVER_PORT = free_port()
RECEIVER_ALLOWLIST = [f"127.0.0.1:{RECEIVER_PORT}"]


class Mailbox:
    """aiosmtpd handler: keeps accepted mail; can answer 451 to a recipient a few times first."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.defer: dict[str, int] = {}

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.defer.get(address, 0) > 0:
            self.defer[address] -= 1
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def text_of(message: EmailMessage) -> str:
    """The plain-text body of a received mail."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


class SmtpServer:
    """An SMTP server on a free loopback port, in its own thread."""

    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """Records every POST; `script[path]` lists the status codes to answer first (then 200)."""

    port: int
    requests: list[Received] = field(default_factory=list)
    script: dict[str, list[int]] = field(default_factory=dict)
    bodies: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def _handle(self, request: Request) -> Response:
        received = Received(
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
        )
        self.requests.append(received)
        planned = self.script.get(received.path)
        status = planned.pop(0) if planned else 200
        return JSONResponse(self.bodies.get(received.path, {"ok": True}), status_code=status)


@asynccontextmanager
async def http_receiver(port: int = RECEIVER_PORT) -> AsyncIterator[HttpReceiver]:
    """A real HTTP server (uvicorn) on 127.0.0.1 in this event loop (the allowlisted port)."""
    receiver = HttpReceiver(port=port)
    app = Starlette(routes=[Route("/{path:path}", receiver._handle, methods=["POST"])])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=receiver.port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll `check` until true, failing after WAIT_SECONDS."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
