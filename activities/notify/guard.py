"""The SSRF guard at the socket: resolve once, check the address, connect to that address."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Sequence

import httpx

from domain.outbound import AllowEntry, IPAddress, destination_problem


class DestinationRefused(Exception):
    """The destination resolves to an address the worker must not reach; nothing was sent."""


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address of `host` (an IP literal is its own answer, no lookup)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # Strip an IPv6 zone ("fe80::1%eth0"): the address itself decides.
    return list(dict.fromkeys(ipaddress.ip_address(str(i[4][0]).split("%")[0]) for i in infos))


async def checked_address(host: str, port: int, allowlist: Sequence[AllowEntry]) -> IPAddress:
    """The address to connect to; refused when any address of the host is off limits."""
    try:
        addresses = await resolve(host, port)
    except OSError as exc:
        raise httpx.ConnectError(f"cannot resolve {host}") from exc
    if not addresses:
        raise httpx.ConnectError(f"{host} has no address")
    for address in addresses:
        problem = destination_problem(address, port, allowlist)
        if problem is not None:
            raise DestinationRefused(f"{host}: {problem}")
    return addresses[0]


class GuardedTransport(httpx.AsyncBaseTransport):
    """Sends each request to the address it checked: no second lookup (DNS rebinding).

    The Host header keeps the name from the URL, and for https the TLS SNI and certificate
    check use that name too.
    """

    def __init__(self, allowlist: Sequence[AllowEntry], inner: httpx.AsyncBaseTransport) -> None:
        self._allowlist = tuple(allowlist)
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}")
        port = url.port or (443 if url.scheme == "https" else 80)
        address = await checked_address(url.host, port, self._allowlist)
        request.url = url.copy_with(host=str(address))
        if url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": url.host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def guarded_client(
    allowlist: Sequence[AllowEntry], timeout: float, verify: ssl.SSLContext | bool = True
) -> httpx.AsyncClient:
    """The worker's HTTP client: the guard, no redirects, no proxies from the environment."""
    inner = httpx.AsyncHTTPTransport(retries=0, verify=verify)
    return httpx.AsyncClient(
        transport=GuardedTransport(allowlist, inner),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
