"""Pure rules of SLA policy administration: body checks, scope ranking, version diffs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from domain.sla import EscalationStep, Priority

# Scope dimensions, most specific first, with the weight each adds to a policy's rank.
SCOPE_WEIGHTS = {"categories": 4, "departments": 2, "tiers": 1}


class Change(BaseModel):
    path: str
    from_: Any = None
    to: Any = None

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "from": self.from_, "to": self.to}


class RuleError(ValueError):
    """A body that parses but breaks a policy rule; `field` is its dotted body path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def check_targets(targets: Mapping[Priority, tuple[timedelta, timedelta]]) -> None:
    """Resolution may not come before the first response, per priority."""
    for priority in Priority:
        if priority not in targets:
            continue
        first, resolution = targets[priority]
        if resolution < first:
            raise RuleError(
                f"targets.{priority.value}.resolution",
                "the resolution target must be at least the first-response target",
            )


def check_ladder(steps: Sequence[EscalationStep]) -> None:
    """Breach steps are listed in the order they fire: offsets never decrease."""
    previous = timedelta(0)
    for i, step in enumerate(steps):
        if step.when != "breach":
            continue
        offset = timedelta(0) if step.at == "breach" else step.at
        if offset < previous:
            raise RuleError(
                f"escalation.{i}.at",
                "escalation steps must be ordered: this step fires before the one above it",
            )
        previous = offset


def normalized_scope(scope: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """The scope with sorted, de-duplicated values and empty dimensions dropped."""
    out: dict[str, list[Any]] = {}
    for name in SCOPE_WEIGHTS:
        values = sorted(set((scope or {}).get(name) or []), key=str)
        if values:
            out[name] = values
    return out


def scope_rank(
    scope: Mapping[str, Any] | None, category: str, department_id: int | None, tier: str | None
) -> int:
    """-1 when the scope excludes the ticket, else its specificity (higher wins)."""
    facts = {"categories": category, "departments": department_id, "tiers": tier}
    rank = 0
    for name, values in normalized_scope(scope).items():
        if facts[name] not in values:
            return -1
        rank += SCOPE_WEIGHTS[name]
    return rank


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves of a JSON value by dotted path; list items by index (`escalation.1.notify`)."""
    if isinstance(value, Mapping):
        items: Sequence[tuple[str, Any]] = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(str(i), v) for i, v in enumerate(value)]
    else:
        return {prefix: value}
    out: dict[str, Any] = {}
    if not items and prefix:
        out[prefix] = value
    for key, item in items:
        out.update(flatten(item, f"{prefix}.{key}" if prefix else key))
    return out


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every leaf that differs between two bodies, sorted by path; absent leaves are None."""
    a, b = flatten(old), flatten(new)
    return [
        Change(path=path, from_=a.get(path), to=b.get(path))
        for path in sorted(a.keys() | b.keys())
        if a.get(path) != b.get(path)
    ]
