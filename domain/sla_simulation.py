"""The policy simulator's arithmetic: stored ticket facts through two policies, same clock."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from domain.calendar import CalendarSpec
from domain.sla import (
    PolicyVersion,
    Priority,
    SlaEvent,
    SlaEventKind,
    _Clock,
    _replay,
)

TARGETS = ("first_response", "resolution")
# The most changed tickets one answer lists; the counts always cover every ticket.
MAX_CHANGED = 1000


@dataclass(frozen=True)
class Outcome:
    due_at: datetime | None
    breached: bool


def _outcome(clock: _Clock, cal: CalendarSpec, amount: Any, now: datetime) -> Outcome:
    # The same rule as domain.sla.compute: open at/after the due time, or met after it.
    due, met = clock.reach(cal, amount), clock.stopped_at
    breached = due is not None and (now >= due if met is None else met > due)
    return Outcome(due, breached)


def outcomes(
    bindings: Sequence[tuple[PolicyVersion, CalendarSpec]],
    events: Sequence[SlaEvent],
    now: datetime,
) -> list[tuple[Outcome, Outcome]]:
    """(first response, resolution) under each binding; the facts are folded once."""
    facts = _replay(events, now)
    cycle = facts.current
    out = []
    for policy, cal in bindings:
        first = policy.targets[facts.first_response_priority].first_response
        resolution = policy.targets[cycle.priority].resolution
        out.append(
            (
                _outcome(facts.first_response, cal, first, now),
                _outcome(cycle.clock, cal, resolution, now),
            )
        )
    return out


@dataclass(slots=True)
class _Fact:
    """A stored clock event as the clock reads it (kind, at, priority), minus validation."""

    kind: SlaEventKind
    at: datetime
    priority: Priority | None


_KINDS = {kind.value: kind for kind in SlaEventKind}
_PRIORITIES: dict[Any, Priority | None] = {p.value: p for p in Priority} | {None: None}


def parse_events(stored: Iterable[dict[str, Any]]) -> list[SlaEvent]:
    """Stored (JSON) clock events, validated when written: parsed without pydantic's cost."""
    facts = [
        _Fact(_KINDS[e["kind"]], datetime.fromisoformat(e["at"]), _PRIORITIES[e.get("priority")])
        for e in stored
    ]
    return cast(list[SlaEvent], facts)  # the clock reads only kind, at and priority


# One ticket as streamed: id, number, priority, department id, binding key, stored events
# (as JSON text, parsed by whichever process computes).
Row = tuple[int, str, str, int | None, str, list[dict[str, Any]] | str]


@dataclass
class Tally:
    """Counts for a chunk of tickets, mergeable across chunks and processes."""

    evaluated: int = 0
    # (priority, department id, target, breached now, breached under the candidate) -> tickets
    counts: Counter[tuple[str, int | None, str, bool, bool]] = field(default_factory=Counter)
    changed: list[dict[str, Any]] = field(default_factory=list)
    changed_total: int = 0

    def add(self, row: Row, pair: list[tuple[Outcome, Outcome]]) -> None:
        ticket_id, number, priority, department_id, _, _ = row
        self.evaluated += 1
        now, candidate = pair
        for i, target in enumerate(TARGETS):
            a, b = now[i], candidate[i]
            self.counts[priority, department_id, target, a.breached, b.breached] += 1
            if a.breached != b.breached:
                self.changed_total += 1
                if len(self.changed) < MAX_CHANGED:
                    self.changed.append(
                        {
                            "id": ticket_id,
                            "number": number,
                            "target": target,
                            "now": {"due_at": a.due_at, "breached": a.breached},
                            "candidate": {"due_at": b.due_at, "breached": b.breached},
                        }
                    )

    def merge(self, other: Tally) -> None:
        self.evaluated += other.evaluated
        self.counts.update(other.counts)
        room = MAX_CHANGED - len(self.changed)
        self.changed.extend(other.changed[: max(room, 0)])
        self.changed_total += other.changed_total

    def breaches(self, key: int | None = None) -> dict[Any, dict[str, dict[str, int]]]:
        """{group: {target: {breached_now, breached_candidate}}}; group 0 priority, 1 department."""
        out: dict[Any, dict[str, dict[str, int]]] = {}
        for (priority, department_id, target, now, candidate), n in self.counts.items():
            group = None if key is None else (priority, department_id)[key]
            counts = out.setdefault(group, {}).setdefault(
                target, {"breached_now": 0, "breached_candidate": 0}
            )
            counts["breached_now"] += n if now else 0
            counts["breached_candidate"] += n if candidate else 0
        return out


class Parsed:
    """Parses each policy/calendar JSON once per process (bindings repeat across chunks)."""

    def __init__(self) -> None:
        self._policies: dict[str, PolicyVersion] = {}
        self._calendars: dict[str, CalendarSpec] = {}

    def policy(self, text: str) -> PolicyVersion:
        if text not in self._policies:
            self._policies[text] = PolicyVersion.model_validate(json.loads(text))
        return self._policies[text]

    def calendar(self, text: str) -> CalendarSpec:
        if text not in self._calendars:
            self._calendars[text] = CalendarSpec.model_validate(json.loads(text))
        return self._calendars[text]


_PARSED = Parsed()


def simulate_chunk(
    candidate: str,
    candidate_calendar: str | None,
    bindings: dict[str, tuple[str, str]],
    rows: Sequence[Row],
    now: datetime,
) -> Tally:
    """Bound version vs candidate for each row; `bindings` maps a key to (policy, calendar)."""
    tally = Tally()
    cand = _PARSED.policy(candidate)
    for row in rows:
        policy_text, calendar_text = bindings[row[4]]
        calendar = _PARSED.calendar(calendar_text)
        cand_cal = _PARSED.calendar(candidate_calendar) if candidate_calendar else calendar
        stored = json.loads(row[5]) if isinstance(row[5], str) else row[5]
        pair = outcomes(
            [(_PARSED.policy(policy_text), calendar), (cand, cand_cal)], parse_events(stored), now
        )
        tally.add(row, pair)
    return tally
