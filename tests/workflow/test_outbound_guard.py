"""The SSRF guard at the socket: checked addresses only, no redirects, capped answers."""

from __future__ import annotations

import asyncio
import io
import logging
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from temporalio.exceptions import ApplicationError

from activities.notify.errors import REFUSED, Outbound
from activities.notify.guard import DestinationRefused, guarded_client
from core.devstack import free_port
from core.logging import configure_logging
from domain.outbound import parse_allowlist
from tests.notify_support import RECEIVER_ALLOWLIST, RECEIVER_PORT, HttpReceiver, http_receiver

ALLOW = parse_allowlist(RECEIVER_ALLOWLIST)


class ConnectionCounter:
    """A TCP listener that only counts connections: proof that nobody connected."""

    def __init__(self) -> None:
        self.port = free_port()
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def _accepted(self, _: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()

    async def __aenter__(self) -> ConnectionCounter:
        self._server = await asyncio.start_server(self._accepted, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    async with http_receiver() as r:
        yield r


async def post(url: str, max_bytes: int = 65_536, verify: ssl.SSLContext | bool = True) -> bytes:
    async with guarded_client(ALLOW, 5.0, verify) as http:
        answer = await Outbound(http, max_bytes).post("webhook", url, content=b"{}")
    return answer.body


async def test_the_allowlisted_receiver_gets_the_post(receiver: HttpReceiver) -> None:
    await post(receiver.url("/in"))
    assert len(receiver.at("/in")) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/in",  # loopback, not allowlisted
        "http://localhost:{port}/in",  # a name that resolves to 127.0.0.1
        "http://[::ffff:127.0.0.1]:{port}/in",
    ],
)
async def test_internal_destinations_are_refused_without_a_connection(url: str) -> None:
    async with ConnectionCounter() as counter:
        with pytest.raises(ApplicationError) as refused:
            await post(url.format(port=counter.port))
        await asyncio.sleep(0.05)
        assert counter.connections == 0
    assert refused.value.type == REFUSED
    assert refused.value.non_retryable
    assert "loopback" in refused.value.message


async def test_the_metadata_address_is_refused_before_any_connection() -> None:
    with pytest.raises(ApplicationError) as refused:
        await post("http://169.254.169.254/latest/meta-data/")
    assert refused.value.type == REFUSED
    assert "metadata" in refused.value.message
    with pytest.raises(DestinationRefused):
        async with guarded_client(ALLOW, 5.0) as http:
            await http.get("http://169.254.169.254/")


async def test_the_checked_address_is_used_and_the_host_header_keeps_the_name(
    receiver: HttpReceiver,
) -> None:
    # localhost resolves to the allowlisted address and port: allowed, and sent there.
    await post(f"http://localhost:{receiver.port}/named")
    [received] = receiver.at("/named")
    assert received.headers["host"] == f"localhost:{receiver.port}"


async def test_redirects_are_not_followed_and_fail_for_good() -> None:
    hits: list[str] = []

    async def answer(request: Request) -> Response:
        hits.append(request.url.path)
        return Response(status_code=302, headers={"Location": "http://169.254.169.254/"})

    async with Serving(Starlette(routes=[Route("/{p:path}", answer, methods=["POST"])])):
        with pytest.raises(ApplicationError) as failed:
            await post(f"http://127.0.0.1:{RECEIVER_PORT}/go")
    assert failed.value.message == "webhook answered HTTP 302"
    assert failed.value.non_retryable
    assert hits == ["/go"]


async def test_a_huge_answer_is_read_only_up_to_the_cap() -> None:
    async def answer(_: Request) -> Response:
        return PlainTextResponse("x" * 5_000_000)

    async with Serving(Starlette(routes=[Route("/{p:path}", answer, methods=["POST"])])):
        body = await post(f"http://127.0.0.1:{RECEIVER_PORT}/big", max_bytes=4096)
    assert len(body) == 4096


class Serving:
    """Run an ASGI app on the allowlisted port for the block, optionally over TLS."""

    def __init__(self, app: Starlette, **tls: str) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=RECEIVER_PORT, log_level="warning", lifespan="off", **tls
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def __aexit__(self, *exc: object) -> None:
        self._server.should_exit = True
        assert self._task is not None
        await self._task


def localhost_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for the name `localhost` only (no IP in it)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_keeps_sni_and_certificate_check_on_the_name(tmp_path: Path) -> None:
    cert, key = await asyncio.to_thread(localhost_certificate, tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))

    async def answer(request: Request) -> Response:
        return PlainTextResponse(request.headers["host"])

    app = Starlette(routes=[Route("/{p:path}", answer, methods=["POST"])])
    async with Serving(app, ssl_certfile=str(cert), ssl_keyfile=str(key)):
        body = await post(f"https://localhost:{RECEIVER_PORT}/tls", verify=trust)
        assert body == f"localhost:{RECEIVER_PORT}".encode()
        # The certificate names localhost, not 127.0.0.1: aimed at the IP it fails to verify.
        with pytest.raises(ApplicationError, match="ConnectError"):
            await post(f"https://127.0.0.1:{RECEIVER_PORT}/tls", verify=trust)


async def test_a_robot_token_in_the_query_never_reaches_the_logs(receiver: HttpReceiver) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging(level="DEBUG", json_logs=True)
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        await post(receiver.url("/robot?key=robot-token-0123456789"))
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)
    assert receiver.at("/robot")[0].query == {"key": "robot-token-0123456789"}
    assert "robot-token-0123456789" not in buffer.getvalue()
