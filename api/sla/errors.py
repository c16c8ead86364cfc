"""Domain validation errors as 422s naming the body field they concern."""

from __future__ import annotations

import re

from pydantic import ValidationError

from core.errors import Invalid
from domain.policy_admin import RuleError

# Domain errors start with the field they concern: "working_hours.mon[0]: bad time ...".
_FIELD_PREFIX = re.compile(r"^([a-z_]+(?:\.[a-z_0-9]+|\[\d+\])*): ")
_BODY_NAMES = {"revisit_within": "revisit.confirm_within"}


def invalid_from(exc: ValueError, prefix: str = "body") -> Invalid:
    """A 422 naming the body field a domain validation error is about."""
    if isinstance(exc, RuleError):
        return Invalid(f"{prefix}.{exc.field}", exc.message)
    loc, message = "", str(exc)
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        loc = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
    match = _FIELD_PREFIX.match(message)
    name = loc or (match.group(1) if match else "")
    path = re.sub(r"\[(\d+)\]", r".\1", _BODY_NAMES.get(name, name))
    return Invalid(f"{prefix}.{path}" if path else prefix, message)
