"""How a channel adapter sends over HTTP and reports a failed send: retry later, or never."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.notify.guard import DestinationRefused
from domain.notify import HttpOutcome, http_outcome
from workflows.notification import PERMANENT

# Error type of a destination the SSRF guard refused (a permanent failure, shown as refused).
REFUSED = "DestinationRefused"


def permanent(message: str, *, kind: str = PERMANENT) -> ApplicationError:
    """A failure no retry can fix: the row goes to `failed` and shows in the timeline."""
    # Benign: the SDK logs its traceback at debug only; the delivery logs one line itself.
    return ApplicationError(
        message, type=kind, non_retryable=True, category=ApplicationErrorCategory.BENIGN
    )


def transient(message: str) -> ApplicationError:
    """A failure worth retrying with backoff (the workflow's retry policy)."""
    return ApplicationError(
        message, type="TransientDeliveryFailure", category=ApplicationErrorCategory.BENIGN
    )


@dataclass
class Answer:
    """What came back: the status, the first bytes of the body (capped), and how long it took."""

    status: int
    body: bytes
    latency_ms: int


@dataclass
class Exchange:
    """The last HTTP exchange of a send, for the delivery record (also when it failed)."""

    host: str | None = None
    status: int | None = None
    latency_ms: int | None = None


def check_response(what: str, answer: Answer) -> None:
    """Raise for a non-2xx answer: 408/429/5xx retry, any other (redirects too) is permanent."""
    outcome = http_outcome(answer.status)
    if outcome is HttpOutcome.DELIVERED:
        return
    message = f"{what} answered HTTP {answer.status}"
    if outcome is HttpOutcome.RETRY:
        raise transient(message)
    raise permanent(message)


@dataclass
class Outbound:
    """The guarded client of one send, its response cap, and the record of its exchange."""

    client: httpx.AsyncClient
    max_bytes: int = 65_536
    exchange: Exchange = field(default_factory=Exchange)

    async def post(
        self,
        what: str,
        url: str,
        *,
        content: bytes,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        """POST a JSON body; network trouble is transient, a malformed or refused URL permanent."""
        started = time.monotonic()
        try:
            # Merge, never replace: robot URLs carry their own token in the query.
            target = httpx.URL(url).copy_merge_params(params) if params else httpx.URL(url)
            self.exchange.host = target.host
            response, body = await self._send(target, content, headers or {})
        except DestinationRefused as exc:
            raise permanent(f"{what}: destination refused ({exc})", kind=REFUSED) from exc
        except httpx.InvalidURL as exc:
            raise permanent(f"{what}: invalid URL") from exc
        except httpx.UnsupportedProtocol as exc:
            raise permanent(f"{what}: unsupported URL scheme") from exc
        except (httpx.HTTPError, TimeoutError) as exc:
            raise transient(f"{what}: {type(exc).__name__}") from exc
        finally:
            self.exchange.latency_ms = int((time.monotonic() - started) * 1000)
        self.exchange.status = response.status_code
        answer = Answer(response.status_code, body, self.exchange.latency_ms)
        check_response(what, answer)
        return answer

    async def _send(
        self, target: httpx.URL, content: bytes, headers: dict[str, str]
    ) -> tuple[httpx.Response, bytes]:
        # One deadline for the whole exchange: a receiver that drips bytes cannot hold it.
        async with asyncio.timeout((self.client.timeout.read or 10.0) * 2):
            request = self.client.build_request(
                "POST",
                target,
                content=content,
                headers={"Content-Type": "application/json", **headers},
            )
            response = await self.client.send(request, stream=True)
            try:
                return response, await read_capped(response, self.max_bytes)
            finally:
                await response.aclose()


async def read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """At most `max_bytes` of the body; the rest is never read."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk[: max_bytes - size])
        size += len(chunks[-1])
        if size >= max_bytes:
            break
    return b"".join(chunks)
