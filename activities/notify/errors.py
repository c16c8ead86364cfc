"""How a channel adapter reports a failed send: retry it later, or never."""

from __future__ import annotations

import httpx
from temporalio.exceptions import ApplicationError

from domain.notify import HttpOutcome, http_outcome
from workflows.notification import PERMANENT


def permanent(message: str) -> ApplicationError:
    """A failure no retry can fix: the row goes to `failed` and shows in the timeline."""
    return ApplicationError(message, type=PERMANENT, non_retryable=True)


def transient(message: str) -> ApplicationError:
    """A failure worth retrying with backoff (the workflow's retry policy)."""
    return ApplicationError(message, type="TransientDeliveryFailure")


def check_response(what: str, response: httpx.Response) -> None:
    """Raise for a non-2xx answer: 408/429/5xx retry, any other 4xx is permanent."""
    outcome = http_outcome(response.status_code)
    if outcome is HttpOutcome.DELIVERED:
        return
    message = f"{what} answered HTTP {response.status_code}"
    if outcome is HttpOutcome.RETRY:
        raise transient(message)
    raise permanent(message)


async def post_json(
    client: httpx.AsyncClient,
    what: str,
    url: str,
    *,
    content: bytes,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    """POST a JSON body; network trouble is transient, a malformed URL permanent."""
    try:
        # Merge, never replace: robot URLs carry their own token in the query.
        target = httpx.URL(url).copy_merge_params(params) if params else url
        response = await client.post(
            target,
            content=content,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
    except httpx.InvalidURL as exc:
        raise permanent(f"{what}: invalid URL") from exc
    except httpx.UnsupportedProtocol as exc:
        raise permanent(f"{what}: unsupported URL scheme") from exc
    except httpx.HTTPError as exc:
        raise transient(f"{what}: {type(exc).__name__}") from exc
    check_response(what, response)
    return response
