"""Constraints the code enforces, spelled out for the OpenAPI schema (clients trust it)."""

from __future__ import annotations

import zoneinfo
from typing import Any

import holidays

# Primary keys: `integer` columns; `bigint` ones up to the largest integer JSON keeps exact.
INT4_MAX = 2**31 - 1
ID_MAX = 2**53 - 1

_DAYS = r"(?:[1-9][0-9]?|[12][0-9]{2}|300)D"
_TIME = r"T(?:[1-9][0-9]{0,2}H(?:[1-9][0-9]{0,3}M)?(?:[1-9][0-9]{0,4}S)?|[1-9][0-9]{0,3}M(?:[1-9][0-9]{0,4}S)?|[1-9][0-9]{0,4}S)"  # noqa: E501
# Positive ISO 8601 durations of at most a year, as the schema documents them (PT2H, P3D,
# PT30M, P1DT12H): every part non-zero, days <= 300, hours <= 999, minutes <= 9999,
# seconds <= 99999.
POSITIVE_DURATION = rf"^P(?:{_DAYS}(?:{_TIME})?|{_TIME})$"
# Offsets after a breach may be zero (PT0S).
DURATION_OR_ZERO = rf"^(?:PT0S|{POSITIVE_DURATION[1:-1]})$"
HHMM = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$"
HHMM_END = r"^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIMEZONES: list[Any] = sorted(zoneinfo.available_timezones())
HOLIDAY_SOURCES: list[Any] = [
    "none",
    "CN",
    *sorted(set(holidays.list_supported_countries(False)) - {"CN"}),
]


def positive_duration(description: str) -> dict[str, Any]:
    return {"pattern": POSITIVE_DURATION, "description": description}


def every_priority(schema: dict[str, Any]) -> None:
    """A map keyed by priority that must name all three (values as the map declared them)."""
    value = schema.pop("additionalProperties", {})
    schema.pop("propertyNames", None)
    schema["properties"] = dict.fromkeys(("urgent", "normal", "low"), value)
    schema["required"] = ["urgent", "normal", "low"]
    schema["additionalProperties"] = False


def working_hours_schema(schema: dict[str, Any]) -> None:
    """`"24x7"` or a weekday map of non-empty ["HH:MM", "HH:MM"] lists."""
    span = {
        "type": "array",
        "prefixItems": [
            {"type": "string", "pattern": HHMM},
            {"type": "string", "pattern": HHMM_END},
        ],
        "items": False,
        "minItems": 2,
        "maxItems": 2,
        "description": "[start, end] local wall time; end after start (24:00 = midnight)",
    }
    days = {
        day: {"type": "array", "items": span, "minItems": 1, "maxItems": 12} for day in WEEKDAYS
    }
    schema.clear()
    schema.update(
        {
            "title": "Working Hours",
            "description": 'e.g. {"mon": [["09:00", "18:00"]]}; intervals of a day must not '
            'overlap; or "24x7"',
            "anyOf": [
                {"type": "string", "const": "24x7"},
                {
                    "type": "object",
                    "properties": days,
                    "additionalProperties": False,
                    "minProperties": 1,
                },
            ],
        }
    )


def holidays_schema(schema: dict[str, Any]) -> None:
    """A named holiday source (none, CN or a country code) or a list of dates."""
    schema.clear()
    schema.update(
        {
            "title": "Holidays",
            "default": "none",
            "anyOf": [
                {"type": "string", "enum": HOLIDAY_SOURCES},
                {"type": "array", "items": {"type": "string", "format": "date"}},
            ],
        }
    )


def escalation_steps_schema(schema: dict[str, Any]) -> None:
    """Each step: no_progress needs a positive idle duration; recipients and channel names."""
    rules = {
        "if": {"properties": {"when": {"const": "no_progress"}}, "required": ["when"]},
        "then": {
            "required": ["at"],
            "properties": {"at": {"type": "string", "pattern": POSITIVE_DURATION}},
        },
        "else": {
            "properties": {
                "at": {
                    "anyOf": [{"const": "breach"}, {"type": "string", "pattern": DURATION_OR_ZERO}]
                }
            }
        },
        "properties": {
            "notify": {
                "type": "string",
                "pattern": r"^(?:assignee|department_manager|role:admin|customer|[1-9][0-9]{0,8})$",
                "description": "a rule or the id of an existing user",
            },
            "channels": {"items": {"type": "string", "pattern": r"^[a-z][a-z0-9_]{0,23}$"}},
        },
    }
    schema["items"] = {"allOf": [schema["items"], rules]}
