"""Signed public links of quotes and surveys: `<id>.<mac>`, stable for a given secret."""

from __future__ import annotations

import hashlib
import hmac

MAX_TOKEN_LENGTH = 100


def _mac(secret: bytes, kind: str, object_id: int) -> str:
    digest = hmac.new(secret, f"{kind}-link:{object_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:40]


def link_token(secret: bytes, kind: str, object_id: int) -> str:
    """The token in a customer's link to a quote or survey; the same on every retry."""
    return f"{object_id}.{_mac(secret, kind, object_id)}"


def token_id(secret: bytes, kind: str, token: str) -> int | None:
    """The id a token opens, or None for a forged, truncated or foreign token."""
    if len(token) > MAX_TOKEN_LENGTH or "." not in token:
        return None
    raw_id, mac = token.split(".", 1)
    if not raw_id.isdigit() or len(raw_id) > 18:
        return None
    object_id = int(raw_id)
    return object_id if hmac.compare_digest(mac, _mac(secret, kind, object_id)) else None
