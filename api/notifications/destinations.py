"""Door checks of webhook and robot URLs that depend on the deployment's settings."""

from __future__ import annotations

from core.errors import Invalid
from core.settings import Settings
from domain.outbound import normalized, parse_allowlist, url_problem


def checked_url(settings: Settings, field: str, url: str, vendor: str | None = None) -> str:
    """The normalized URL, or a 422 naming `field` (https, vendor host, internal address)."""
    problem = url_problem(
        url,
        https_only=settings.https_required,
        allowlist=parse_allowlist(settings.outbound_allowlist),
        vendor=vendor,
        proxy_hosts=settings.robot_proxy_hosts,
    )
    if problem is not None:
        raise Invalid(field, problem)
    return normalized(url)
