"""Password hashing, access tokens and API keys."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_JWT_ALGORITHM = "HS256"
API_KEY_PREFIX = "cl_"
# A fixed hash to verify against when the user does not exist, so timing does not leak it.
_DUMMY_HASH = _hasher.hash("closedloop-timing-equalizer")


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when the password matches; constant work when the user is unknown."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    role: str


class InvalidTokenError(Exception):
    """The bearer token is malformed, expired or signed with another key."""


def issue_access_token(user_id: int, role: str, secret: str, ttl: timedelta) -> str:
    """A signed, expiring JWT for a user."""
    now = datetime.now(UTC)
    payload = {"sub": str(user_id), "role": role, "iat": now, "exp": now + ttl, "typ": "access"}
    return jwt.encode(payload, secret, algorithm=_JWT_ALGORITHM)


def decode_access_token(token: str, secret: str, previous: Sequence[str] = ()) -> TokenClaims:
    """Verify signature (current key, then rotated-out keys) and expiry; else InvalidTokenError."""
    error: Exception = InvalidTokenError("no key")
    for key in (secret, *previous):
        try:
            payload = jwt.decode(
                token, key, algorithms=[_JWT_ALGORITHM], options={"require": ["exp"]}
            )
            return TokenClaims(user_id=int(payload["sub"]), role=str(payload["role"]))
        except jwt.InvalidSignatureError as exc:
            error = exc  # maybe signed with an older key: try the next one
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise InvalidTokenError(str(exc)) from exc
    raise InvalidTokenError(str(error)) from error


def new_api_key() -> tuple[str, str, str]:
    """Return (key shown once, display prefix, stored hash)."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:10], hash_api_key(key)


def hash_api_key(key: str) -> str:
    """API keys carry 256 bits of entropy, so a plain SHA-256 is a safe lookup hash."""
    return hashlib.sha256(key.encode()).hexdigest()
