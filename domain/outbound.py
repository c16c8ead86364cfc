"""Where the worker may send HTTP: URL rules at the door and address rules at the socket."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import HttpUrl, TypeAdapter, ValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Robot URLs must point at their vendor (or at a proxy host an admin allows).
VENDOR_HOSTS: dict[str, frozenset[str]] = {
    "wecom": frozenset({"qyapi.weixin.qq.com"}),
    "dingtalk": frozenset({"oapi.dingtalk.com"}),
    "feishu": frozenset({"open.feishu.cn", "open.larksuite.com"}),
}
# Ports of well-known internal services: never a webhook, whatever the host.
INTERNAL_PORTS = frozenset(
    {
        22, 23, 25, 53, 110, 111, 135, 139, 143, 389, 445, 465, 587, 636, 993, 995,
        1433, 1521, 2049, 2375, 2376, 2379, 2380, 3306, 3389, 4369, 5432, 5433, 5672,
        5984, 6379, 6443, 7233, 7234, 7235, 8500, 9042, 9092, 9200, 9300, 10250,
        11211, 15672, 27017,
    }
)  # fmt: skip
# Cloud metadata endpoints get their own name in refusals.
METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_URL = TypeAdapter(HttpUrl)


@dataclass(frozen=True)
class AllowEntry:
    """An allowlisted destination: an address or network, optionally one port only."""

    network: IPNetwork
    port: int | None = None

    def admits(self, address: IPAddress, port: int) -> bool:
        return address in self.network and self.port in (None, port)


def parse_allowlist(entries: Iterable[str]) -> tuple[AllowEntry, ...]:
    """`127.0.0.1:8080`, `10.0.0.0/8`, `[::1]:9000`, `fd00::/8`; raises ValueError otherwise."""
    parsed = []
    for raw in entries:
        text, port = raw.strip(), None
        if text.startswith("["):
            text, _, rest = text[1:].partition("]")
            port = int(rest.removeprefix(":")) if rest else None
        elif text.count(":") == 1:
            text, _, port_text = text.partition(":")
            port = int(port_text)
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"invalid port in allowlist entry {raw!r}")
        parsed.append(AllowEntry(ipaddress.ip_network(text, strict=False), port))
    return tuple(parsed)


def allowed(address: IPAddress, port: int, allowlist: Iterable[AllowEntry]) -> bool:
    return any(entry.admits(address, port) for entry in allowlist)


def address_problem(address: IPAddress) -> str | None:
    """Why the worker must not connect to an address; None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_problem(address.ipv4_mapped)
    if address in METADATA:
        return "a cloud metadata address"
    for name, hit in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if hit:
            return f"a {name} address"
    return None if address.is_global else "not a public address"


def destination_problem(
    address: IPAddress, port: int, allowlist: Iterable[AllowEntry]
) -> str | None:
    """The socket rule: internal addresses and service ports only when allowlisted."""
    if allowed(address, port, allowlist):
        return None
    problem = address_problem(address)
    if problem is not None:
        return f"{address} is {problem}"
    if port in INTERNAL_PORTS:
        return f"port {port} belongs to an internal service"
    return None


def url_syntax_problem(url: str) -> str | None:
    """Rules that need no settings: a real http(s) URL, no control characters, no userinfo."""
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        return "control characters and spaces are not allowed in a URL"
    try:
        parsed = _URL.validate_python(url)
    except ValidationError as exc:
        return exc.errors()[0]["msg"]
    if parsed.username or parsed.password or "@" in url.split("//", 1)[-1].split("/", 1)[0]:
        return "credentials in the URL are not allowed"
    return None


def url_problem(
    url: str,
    *,
    https_only: bool,
    allowlist: Iterable[AllowEntry],
    vendor: str | None = None,
    proxy_hosts: Iterable[str] = (),
) -> str | None:
    """Every door rule for a webhook URL, or a robot's when `vendor` names its channel."""
    problem = url_syntax_problem(url)
    if problem is not None:
        return problem
    parsed = _URL.validate_python(url)
    host = (parsed.host or "").strip("[]").lower().rstrip(".")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if https_only and parsed.scheme != "https":
        return "https is required"
    if vendor is not None:
        hosts = VENDOR_HOSTS[vendor] | {h.lower() for h in proxy_hosts}
        if host not in hosts:
            return f"a {vendor} robot URL must be on {' or '.join(sorted(VENDOR_HOSTS[vendor]))}"
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    allow = tuple(allowlist)
    if literal is not None:
        return destination_problem(literal, port, allow)
    if host == "localhost" or host.endswith((".localhost", ".internal", ".local")):
        return f"{host} is an internal host name"
    if port in INTERNAL_PORTS:
        return f"port {port} belongs to an internal service"
    return None


def normalized(url: str) -> str:
    """The URL as the worker will use it (IDNA host, numeric IPv4 forms spelled out)."""
    return str(_URL.validate_python(url))
