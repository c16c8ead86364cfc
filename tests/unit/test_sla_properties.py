"""Properties of the calendar and the SLA clock over generated inputs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import (
    CalendarSpec,
    Weekday,
    add_business_time,
    business_time_between,
    is_working_time,
)
from domain.sla import Priority, SlaEvent, SlaEventKind, compute, standard_policy

FAST = settings(max_examples=150, deadline=None)
POLICY = standard_policy()
ALWAYS = CalendarSpec(name="24x7", timezone="UTC")
WEEKDAY_HOURS = [(time(9), time(12)), (time(13), time(17, 30))]
HOLIDAYS = frozenset(date(2025, 1, 1) + timedelta(days=d) for d in range(0, 365, 17))
MAKE_UP = frozenset({date(2025, 3, 8), date(2025, 9, 28), date(2025, 10, 11)})
CALENDARS = [
    ALWAYS,
    CalendarSpec(
        name="cn-office",
        timezone="Asia/Shanghai",
        working_hours={d: [(time(9), time(18))] for d in list(Weekday)[:5]},
        holidays=HOLIDAYS - MAKE_UP,
        extra_workdays=MAKE_UP,
    ),
    CalendarSpec(
        name="ny-split",
        timezone="America/New_York",
        working_hours=dict.fromkeys(list(Weekday)[:5], WEEKDAY_HOURS),
        holidays=HOLIDAYS,
    ),
    CalendarSpec(
        name="ny-all-day",
        timezone="America/New_York",
        working_hours={d: [(time(0), time(0))] for d in Weekday},
        holidays=frozenset({date(2025, 7, 4)}),
    ),
]
ZONES = [ZoneInfo("UTC"), ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")]

instants = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001 - hypothesis attaches the zone
    max_value=datetime(2025, 12, 31),  # noqa: DTZ001
    timezones=st.sampled_from(ZONES),
    allow_imaginary=False,
)
durations = st.integers(min_value=0, max_value=300 * 3600).map(lambda s: timedelta(seconds=s))
calendars = st.sampled_from(CALENDARS)
priorities = st.sampled_from(list(Priority))


@FAST
@given(calendars, instants, durations)
def test_add_and_between_are_inverse(cal: CalendarSpec, start: datetime, amount: timedelta) -> None:
    due = add_business_time(cal, start, amount)
    assert due >= start
    assert business_time_between(cal, start, due) == amount


@FAST
@given(calendars, instants, durations, durations)
def test_business_time_is_additive_and_bounded(
    cal: CalendarSpec, start: datetime, first: timedelta, second: timedelta
) -> None:
    # Aware arithmetic in a ZoneInfo zone is wall-clock; do it in UTC to get real elapsed time.
    base = start.astimezone(UTC)
    middle, end = base + first, base + first + second
    whole = business_time_between(cal, start, end)
    assert whole == business_time_between(cal, start, middle) + business_time_between(
        cal, middle, end
    )
    assert timedelta(0) <= whole <= end - start


@FAST
@given(st.sampled_from(sorted(HOLIDAYS - MAKE_UP)), st.sampled_from(CALENDARS[1:3]))
def test_a_holiday_never_counts_as_working_time(day: date, cal: CalendarSpec) -> None:
    tz = ZoneInfo(cal.timezone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    assert business_time_between(cal, start, end) == timedelta(0)
    assert not is_working_time(cal, start + timedelta(hours=10))


@FAST
@given(st.sampled_from(sorted(MAKE_UP)), st.integers(min_value=9 * 60, max_value=18 * 60 - 1))
def test_make_up_workdays_count(day: date, minute: int) -> None:
    cal = CALENDARS[1]
    tz = ZoneInfo(cal.timezone)
    assert day.weekday() >= 5
    start = datetime.combine(day, time(0), tzinfo=tz)
    assert business_time_between(cal, start, start + timedelta(days=1)) == timedelta(hours=9)
    assert is_working_time(cal, start + timedelta(minutes=minute))


pauses = st.lists(st.tuples(st.integers(0, 48 * 60), st.integers(1, 24 * 60)), max_size=4).map(
    lambda xs: sorted(xs)
)


def _events(created: datetime, priority: Priority, gaps: list[tuple[int, int]]) -> list[SlaEvent]:
    """CREATED, then non-overlapping pause/resume pairs at the given minute offsets."""
    created = created.astimezone(UTC)  # real elapsed time, not wall-clock arithmetic
    events = [SlaEvent(kind=SlaEventKind.CREATED, at=created, priority=priority)]
    cursor = created
    for offset, length in gaps:
        paused = max(cursor + timedelta(minutes=1), created + timedelta(minutes=offset))
        cursor = paused + timedelta(minutes=length)
        events.append(SlaEvent(kind=SlaEventKind.PAUSED, at=paused))
        events.append(SlaEvent(kind=SlaEventKind.RESUMED, at=cursor))
    return events


@FAST
@given(instants, priorities, pauses)
def test_24x7_due_is_created_plus_target_plus_paused(
    created: datetime, priority: Priority, gaps: list[tuple[int, int]]
) -> None:
    events = _events(created, priority, gaps)
    state = compute(POLICY, ALWAYS, events, events[-1].at)
    created = created.astimezone(UTC)
    expected = created + POLICY.targets[priority].resolution
    for paused, resumed in zip(events[1::2], events[2::2], strict=True):
        if paused.at < expected:  # a pause after the due time no longer moves it
            expected += resumed.at - paused.at
    assert state.resolution.due_at == expected
    assert state.first_response.due_at == created + POLICY.targets[priority].first_response


@FAST
@given(calendars, instants, priorities, pauses)
def test_pausing_never_shortens_a_deadline(
    cal: CalendarSpec, created: datetime, priority: Priority, gaps: list[tuple[int, int]]
) -> None:
    events = _events(created, priority, gaps)
    now = events[-1].at
    plain = compute(POLICY, cal, events[:1], now).resolution.due_at
    paused = compute(POLICY, cal, events, now).resolution.due_at
    assert plain is not None
    assert paused is not None
    assert created <= plain <= paused
