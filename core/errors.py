"""Errors a client can act on; each carries its HTTP status and is rendered in one place."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base of every error rendered as {"error": {code, message, details}}."""

    status_code = 400
    code = "bad_request"
    # Response headers the error carries (Retry-After for 503), if any.
    headers: dict[str, str] | None = None

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code:
            self.code = code


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class Invalid(AppError):
    """Input that parsed but cannot be accepted; `field` names the offending path."""

    status_code = 422
    code = "invalid"

    def __init__(self, field: str, message: str):
        super().__init__(message, details={"errors": [{"field": field, "message": message}]})


class Unavailable(AppError):
    """A dependency did not answer in time; the same request (same Idempotency-Key) may retry."""

    status_code = 503
    code = "unavailable"
    headers = {"Retry-After": "2"}
