"""The SLA clock: policy + calendar + ticket facts -> deadlines, breach flags and timed actions."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal, TypeAlias

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from domain.calendar import CalendarSpec, add_business_time, business_time_between

TargetName: TypeAlias = Literal["first_response", "resolution"]
_ZERO = timedelta(0)
_BOTH: tuple[TargetName, ...] = ("first_response", "resolution")


class Priority(StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"
    LOW = "low"


class Target(BaseModel):
    first_response: timedelta
    resolution: timedelta

    @field_validator("first_response", "resolution")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= _ZERO:
            raise ValueError("targets must be positive durations")
        return value


class EscalationStep(BaseModel):
    when: Literal["breach", "no_progress"] = "breach"
    # when=breach: business time after the breach ("breach" = at once); no_progress: idle time.
    at: Literal["breach"] | timedelta = "breach"
    target: Literal["first_response", "resolution", "any"] = "any"
    priorities: list[Priority] | None = None
    notify: str = Field(min_length=1)
    channels: list[str] = Field(default=["in_app"], min_length=1)

    @model_validator(mode="after")
    def _sane_offset(self) -> EscalationStep:
        if self.when == "no_progress" and (self.at == "breach" or self.at <= _ZERO):
            raise ValueError("at: a no_progress step needs a positive idle duration like 'PT48H'")
        if isinstance(self.at, timedelta) and self.at < _ZERO:
            raise ValueError("at: the offset after a breach must not be negative")
        return self


class PolicyVersion(BaseModel):
    policy_id: int
    version: int
    name: str
    targets: dict[Priority, Target]
    warn_at: float = Field(gt=0, lt=1)
    escalation: list[EscalationStep] = []
    # A priority missing here gets no tracking reminders.
    tracking: dict[Priority, timedelta] = {}
    revisit_within: timedelta

    @model_validator(mode="after")
    def _complete(self) -> PolicyVersion:
        missing = [p.value for p in Priority if p not in self.targets]
        if missing:
            raise ValueError(f"targets: missing {', '.join(missing)}")
        if any(d <= _ZERO for d in self.tracking.values()):
            raise ValueError("tracking: cadences must be positive durations")
        if self.revisit_within <= _ZERO:
            raise ValueError("revisit_within: must be a positive duration")
        return self


def standard_policy(policy_id: int = 1, version: int = 1) -> PolicyVersion:
    """The seeded default policy from the product brief."""
    hours = timedelta(hours=1)
    return PolicyVersion(
        policy_id=policy_id,
        version=version,
        name="standard",
        targets={
            Priority.URGENT: Target(first_response=2 * hours, resolution=24 * hours),
            Priority.NORMAL: Target(first_response=4 * hours, resolution=48 * hours),
            Priority.LOW: Target(first_response=12 * hours, resolution=72 * hours),
        },
        warn_at=0.8,
        escalation=[
            EscalationStep(notify="department_manager"),
            EscalationStep(at=4 * hours, notify="role:admin"),
            # "Urgent without progress for 48 h escalates to the department manager."
            EscalationStep(
                when="no_progress",
                at=48 * hours,
                priorities=[Priority.URGENT],
                notify="department_manager",
            ),
        ],
        tracking={
            Priority.URGENT: 24 * hours,
            Priority.NORMAL: timedelta(days=3),
            Priority.LOW: timedelta(days=7),
        },
        revisit_within=timedelta(days=3),
    )


class SlaEventKind(StrEnum):
    CREATED = "created"
    FIRST_RESPONSE = "first_response"
    PAUSED = "paused"
    RESUMED = "resumed"
    PRIORITY_CHANGED = "priority_changed"
    PROGRESS = "progress"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"


class SlaEvent(BaseModel):
    kind: SlaEventKind
    at: AwareDatetime
    priority: Priority | None = None

    @model_validator(mode="after")
    def _priority_present(self) -> SlaEvent:
        needs = (SlaEventKind.CREATED, SlaEventKind.PRIORITY_CHANGED)
        if self.kind in needs and self.priority is None:
            raise ValueError(f"priority: required on {self.kind.value} events")
        return self


class TargetState(BaseModel):
    due_at: datetime | None  # None only while paused before the target was reached
    warn_at: datetime | None
    met_at: datetime | None
    breached: bool
    elapsed: timedelta  # business time counted so far
    remaining: timedelta  # business time left, never negative


class SlaState(BaseModel):
    priority: Priority
    first_response: TargetState
    resolution: TargetState  # of the current cycle
    paused: bool
    cycle: int
    last_progress_at: datetime
    resolved_at: datetime | None  # of the current cycle (a close without resolving counts)
    closed: bool


class ActionKind(StrEnum):
    WARNING = "warning"
    BREACH = "breach"
    ESCALATION = "escalation"
    TRACKING_REMINDER = "tracking_reminder"
    REVISIT_DEADLINE = "revisit_deadline"


class ScheduledAction(BaseModel):
    key: str  # stable and unique per occurrence: the idempotency key of whatever it triggers
    kind: ActionKind
    at: datetime
    target: TargetName | None = None
    step: int | None = None  # index into policy.escalation


@dataclass
class _Clock:
    """Business-time stopwatch: finished active spans, the running span, and when it stopped."""

    spans: list[tuple[datetime, datetime]] = field(default_factory=list)
    running_since: datetime | None = None  # None = paused
    stopped_at: datetime | None = None  # target met (first response) or cycle resolved

    def elapsed(self, cal: CalendarSpec, now: datetime) -> timedelta:
        end = now if self.stopped_at is None else min(self.stopped_at, now)
        done = sum((business_time_between(cal, a, min(b, end)) for a, b in self.spans), _ZERO)
        if self.running_since is not None:
            done += business_time_between(cal, self.running_since, end)
        return done

    def reach(self, cal: CalendarSpec, amount: timedelta) -> datetime | None:
        """When the clock shows `amount`, projecting past a stop; None while paused short of it."""
        done = _ZERO
        for a, b in self.spans:
            part = business_time_between(cal, a, b)
            if done + part >= amount:
                return add_business_time(cal, a, amount - done)
            done += part
        if self.running_since is None:
            return None
        return add_business_time(cal, self.running_since, amount - done)

    def pause(self, at: datetime) -> None:
        if self.running_since is not None:
            self.spans.append((self.running_since, at))
            self.running_since = None

    def stop(self, at: datetime) -> None:
        # A clock stopped while paused projects its deadline as if resumed at the stop.
        self.running_since = self.running_since or at
        self.stopped_at = at


@dataclass
class _Cycle:
    number: int
    clock: _Clock
    priority: Priority  # at the stop for a finished cycle, else the current one
    paused_since: datetime | None = None


@dataclass
class _Facts:
    priority: Priority
    first_response: _Clock
    first_response_priority: Priority
    cycles: list[_Cycle]
    last_progress_at: datetime
    closed: bool = False

    @property
    def current(self) -> _Cycle:
        return self.cycles[-1]


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value.isoformat()}")
    return value.astimezone(UTC)


def _replay(events: Sequence[SlaEvent], now: datetime) -> _Facts:
    """Fold the facts known at `now` (later events are ignored; stable-sorted by time)."""
    # Stable sort by time; CREATED leads its instant so same-instant facts apply after it.
    known = sorted(
        (e for e in events if e.at <= now), key=lambda e: (e.at, e.kind != SlaEventKind.CREATED)
    )
    if not known or known[0].kind != SlaEventKind.CREATED or known[0].priority is None:
        raise ValueError("events: a CREATED event with a priority must come first, before now")
    first, prio = _utc(known[0].at, "at"), known[0].priority
    facts = _Facts(
        prio,
        _Clock(running_since=first),
        prio,
        [_Cycle(0, _Clock(running_since=first), prio)],
        first,
    )
    for event in known[1:]:
        at, kind, cycle = _utc(event.at, "at"), event.kind, facts.current
        open_ = cycle.clock.stopped_at is None
        if facts.closed and kind != SlaEventKind.REOPENED:
            continue  # a closed ticket only listens for a reopen
        facts.last_progress_at = at  # every staff or status action counts as progress
        if kind == SlaEventKind.FIRST_RESPONSE and facts.first_response.stopped_at is None:
            facts.first_response.stop(at)  # only the first one counts
            facts.first_response_priority = facts.priority
        elif kind == SlaEventKind.PAUSED and open_ and cycle.paused_since is None:
            cycle.clock.pause(at)  # awaiting customer: resolution clock stops, first response not
            cycle.paused_since = at
        elif kind == SlaEventKind.RESUMED and open_ and cycle.paused_since is not None:
            cycle.clock.running_since, cycle.paused_since = at, None
        elif kind == SlaEventKind.PRIORITY_CHANGED and event.priority is not None:
            facts.priority = event.priority  # open targets re-read it; elapsed time is kept
        elif kind in (SlaEventKind.RESOLVED, SlaEventKind.CLOSED) and open_:
            cycle.clock.stop(at)
            cycle.priority, cycle.paused_since = facts.priority, None
            if facts.first_response.stopped_at is None:
                facts.first_response.stop(at)  # a resolution answers the customer too
                facts.first_response_priority = facts.priority
        if kind == SlaEventKind.CLOSED:
            facts.closed = True
        elif kind == SlaEventKind.REOPENED and not open_:
            # New cycle: a fresh resolution target from the reopen instant; first response stays.
            facts.closed = False
            facts.cycles.append(_Cycle(cycle.number + 1, _Clock(running_since=at), facts.priority))
    if facts.first_response.stopped_at is None:
        facts.first_response_priority = facts.priority
    if facts.current.clock.stopped_at is None:
        facts.current.priority = facts.priority
    return facts


def _target_state(
    policy: PolicyVersion, cal: CalendarSpec, clock: _Clock, amount: timedelta, now: datetime
) -> TargetState:
    due, elapsed, met = clock.reach(cal, amount), clock.elapsed(cal, now), clock.stopped_at
    # Breached: still open at/after the due time, or met only after it.
    breached = due is not None and (now >= due if met is None else met > due)
    return TargetState(
        due_at=due,
        warn_at=clock.reach(cal, amount * policy.warn_at),
        met_at=met,
        breached=breached,
        elapsed=elapsed,
        remaining=max(amount - elapsed, _ZERO),
    )


def compute(
    policy: PolicyVersion, calendar: CalendarSpec, events: Sequence[SlaEvent], now: datetime
) -> SlaState:
    """The ticket's SLA state at `now` (targets in business time of `calendar`)."""
    moment = _utc(now, "now")
    facts = _replay(events, moment)
    cycle = facts.current
    first = policy.targets[facts.first_response_priority].first_response
    return SlaState(
        priority=facts.priority,
        first_response=_target_state(policy, calendar, facts.first_response, first, moment),
        resolution=_target_state(
            policy, calendar, cycle.clock, policy.targets[cycle.priority].resolution, moment
        ),
        paused=cycle.paused_since is not None,
        cycle=cycle.number,
        last_progress_at=facts.last_progress_at,
        resolved_at=cycle.clock.stopped_at,
        closed=facts.closed,
    )


def _applies(step: EscalationStep, priority: Priority) -> bool:
    return step.priorities is None or priority in step.priorities


@dataclass
class _Planner:
    """Collects the actions one replay of the facts implies."""

    policy: PolicyVersion
    cal: CalendarSpec
    facts: _Facts
    now: datetime
    out: list[ScheduledAction] = field(default_factory=list)

    def add(
        self,
        key: str,
        kind: ActionKind,
        at: datetime,
        target: TargetName | None = None,
        step: int | None = None,
    ) -> None:
        self.out.append(ScheduledAction(key=key, kind=kind, at=at, target=target, step=step))

    def target(
        self, cycle: int, name: TargetName, clock: _Clock, amount: timedelta
    ) -> datetime | None:
        """Add a target's WARNING and BREACH (once per cycle, unless met first) -> breach."""
        stop = clock.stopped_at
        warn = clock.reach(self.cal, amount * self.policy.warn_at)
        if warn is not None and (stop is None or stop > warn):
            self.add(f"c{cycle}:{name}:warning", ActionKind.WARNING, warn, name)
        due = clock.reach(self.cal, amount)
        if due is None or (stop is not None and stop <= due):
            return None
        self.add(f"c{cycle}:{name}:breach", ActionKind.BREACH, due, name)
        return due

    def escalations(
        self, cycle: _Cycle, breaches: dict[TargetName, tuple[datetime, datetime | None]]
    ) -> None:
        """Breach steps: once per cycle; dropped once met, resolved, closed or paused."""
        for i, step in enumerate(self.policy.escalation):
            if step.when != "breach" or not _applies(step, cycle.priority):
                continue
            offset = _ZERO if step.at == "breach" else step.at
            names = _BOTH if step.target == "any" else (step.target,)
            # "any" fires at the earliest breach among targets still unmet when the step is due.
            best: tuple[datetime, TargetName] | None = None
            for name in names:
                if name in breaches:
                    breach_at, met_at = breaches[name]
                    at = add_business_time(self.cal, breach_at, offset)
                    if (met_at is None or met_at > at) and (best is None or at < best[0]):
                        best = (at, name)
            stop, paused = cycle.clock.stopped_at, cycle.paused_since
            if best is None or (stop is not None and stop <= best[0]):
                continue
            if paused is not None and best[0] >= paused:
                continue
            key = f"c{cycle.number}:{step.target}:esc{i}"
            self.add(key, ActionKind.ESCALATION, best[0], best[1], i)

    def idle(self) -> None:
        """No-progress steps and tracking reminders, in business time since the last progress."""
        cycle, anchor = self.facts.current, self.facts.last_progress_at
        stamp = anchor.isoformat()  # in the keys, so new progress re-arms them
        for i, step in enumerate(self.policy.escalation):
            # Validation guarantees no_progress steps carry a duration.
            if (
                step.when == "no_progress"
                and isinstance(step.at, timedelta)
                and _applies(step, cycle.priority)
            ):
                at = add_business_time(self.cal, anchor, step.at)
                self.add(
                    f"c{cycle.number}:no_progress:{stamp}:esc{i}", ActionKind.ESCALATION, at, step=i
                )
        cadence = self.policy.tracking.get(cycle.priority)
        if cadence is None:
            return
        # The latest reminder already due plus the next: missed ones never pile up.
        reached = business_time_between(self.cal, anchor, self.now) // cadence
        for k in range(max(reached, 1), reached + 2):
            at = add_business_time(self.cal, anchor, cadence * k)
            self.add(f"track:c{cycle.number}:{stamp}:{k}", ActionKind.TRACKING_REMINDER, at)


def scheduled_actions(
    policy: PolicyVersion, calendar: CalendarSpec, events: Sequence[SlaEvent], now: datetime
) -> list[ScheduledAction]:
    """Every action the ticket's facts at `now` imply, past and future, sorted by time."""
    moment = _utc(now, "now")
    facts = _replay(events, moment)
    plan = _Planner(policy, calendar, facts, moment)
    fr = facts.first_response
    fr_target = policy.targets[facts.first_response_priority].first_response
    fr_breach = plan.target(0, "first_response", fr, fr_target)
    for cycle in facts.cycles:
        breaches: dict[TargetName, tuple[datetime, datetime | None]] = {}
        amount = policy.targets[cycle.priority].resolution
        if (due := plan.target(cycle.number, "resolution", cycle.clock, amount)) is not None:
            breaches["resolution"] = (due, cycle.clock.stopped_at)
        if fr_breach is not None and cycle.number == 0:
            breaches["first_response"] = (fr_breach, fr.stopped_at)
        plan.escalations(cycle, breaches)
    current = facts.current
    resolved = current.clock.stopped_at
    if facts.closed:
        pass  # closed: nothing after the close; earlier actions stay as history
    elif resolved is not None:
        # The revisit window is wall-clock time: customers answer outside office hours too.
        at = resolved + policy.revisit_within
        plan.add(f"revisit:c{current.number}", ActionKind.REVISIT_DEADLINE, at)
    elif current.paused_since is None:
        plan.idle()
    # At one instant a breach comes before the escalation it triggers (enum order).
    rank = {kind: i for i, kind in enumerate(ActionKind)}
    return sorted(plan.out, key=lambda a: (a.at, rank[a.kind], a.key))


def due_actions(
    actions: Sequence[ScheduledAction], now: datetime, fired: Collection[str]
) -> list[ScheduledAction]:
    """Actions whose time has come (at <= now) and that have not fired yet."""
    moment = _utc(now, "now")
    return [a for a in actions if a.at <= moment and a.key not in fired]


def next_wakeup(actions: Sequence[ScheduledAction], fired: Collection[str]) -> datetime | None:
    """Earliest time among unfired actions (may be in the past: fire those first)."""
    return min((a.at for a in actions if a.key not in fired), default=None)
