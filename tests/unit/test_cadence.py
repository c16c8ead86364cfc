"""Cadence rules: due dates, calendar months, caps, unopened pauses, care triggers, RFM."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.cadence import (
    Cadence,
    CareKind,
    PushRecord,
    RfmFacts,
    add_months,
    birthday_task,
    choose_push,
    dormant_task,
    effective_cadence,
    month_bounds,
    next_due,
    paused_channels,
    rfm_segment,
    rule_cadence,
    upgrade_task,
)
from domain.customers import CustomerSegment, CustomerTier

SH = "Asia/Shanghai"
T0 = datetime(2024, 5, 10, 8, 0, tzinfo=UTC)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis attaches the zone
    max_value=datetime(2090, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
cadences = st.builds(
    Cadence,
    months=st.integers(0, 24),
    days=st.integers(0, 400),
    seconds=st.integers(0, 86_399),
).filter(lambda c: 1 <= c.approx_days() <= 24 * 31)


@pytest.mark.parametrize(
    ("tier", "segment", "expected"),
    [
        (CustomerTier.CORE, None, Cadence(months=1)),
        (CustomerTier.POTENTIAL, None, Cadence(months=3)),
        (CustomerTier.ORDINARY, None, Cadence(days=45)),
        (CustomerTier.ORDINARY, CustomerSegment.HIGH_VALUE, Cadence(days=15)),
        (CustomerTier.CORE, CustomerSegment.DORMANT, Cadence(months=6)),
        (CustomerTier.POTENTIAL, CustomerSegment.POTENTIAL, Cadence(months=3)),
    ],
)
def test_rules_give_each_tier_and_segment_its_cadence(
    tier: CustomerTier, segment: CustomerSegment | None, expected: Cadence
) -> None:
    assert rule_cadence(tier, segment) == expected


def test_a_plan_cadence_overrides_the_rule() -> None:
    assert effective_cadence("P2W", CustomerTier.CORE, None) == Cadence(days=14)
    assert effective_cadence(None, CustomerTier.CORE, None) == Cadence(months=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P1M", Cadence(months=1)),
        ("p3m", Cadence(months=3)),
        ("P1Y", Cadence(months=12)),
        ("P2W", Cadence(days=14)),
        ("P45D", Cadence(days=45)),
        ("P1M15D", Cadence(months=1, days=15)),
        ("P1DT12H", Cadence(days=1, seconds=43_200)),
    ],
)
def test_iso_durations_parse(text: str, expected: Cadence) -> None:
    assert Cadence.parse(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "1M", "P1", "P1DT", "PT1H", "P0D", "P3Y", "M1P"])
def test_unusable_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"ISO 8601|at least one day|at most"):
        Cadence.parse(text)


def test_months_are_calendar_months_clamped_to_the_month_end() -> None:
    jan31 = datetime(2024, 1, 31, 9, 0, tzinfo=UTC)
    assert Cadence(months=1).after(jan31) == datetime(2024, 2, 29, 9, 0, tzinfo=UTC)
    assert Cadence(months=1).after(datetime(2023, 1, 31, tzinfo=UTC)).day == 28
    assert Cadence(months=3).after(datetime(2024, 11, 30, tzinfo=UTC)) == datetime(
        2025, 2, 28, tzinfo=UTC
    )


def test_next_due_runs_from_the_last_touch_or_else_from_now() -> None:
    touch = datetime(2024, 3, 15, 10, 0, tzinfo=UTC)
    assert next_due(touch, Cadence(months=1), T0) == datetime(2024, 4, 15, 10, 0, tzinfo=UTC)
    assert next_due(None, Cadence(days=45), T0) == T0 + timedelta(days=45)


@given(cadences)
def test_iso_text_round_trips(cadence: Cadence) -> None:
    assert Cadence.parse(cadence.iso()) == cadence


@given(moments, cadences)
def test_the_due_is_always_after_the_touch(touch: datetime, cadence: Cadence) -> None:
    assert next_due(touch, cadence, T0) > touch


@given(moments, st.integers(0, 36))
def test_adding_months_lands_in_the_right_month_never_past_the_day(
    start: datetime, months: int
) -> None:
    moved = add_months(start, months)
    assert (moved.year * 12 + moved.month) - (start.year * 12 + start.month) == months
    assert moved.day <= start.day
    assert moved.time() == start.time()


@given(moments, moments, cadences)
def test_a_later_touch_never_brings_the_due_earlier(
    a: datetime, b: datetime, cadence: Cadence
) -> None:
    early, late = sorted((a, b))
    assert next_due(early, cadence, T0) <= next_due(late, cadence, T0)


# --- caps and pauses --------------------------------------------------------------------


def pushes(channel: str, *days: int, opened: frozenset[int] = frozenset()) -> list[PushRecord]:
    return [
        PushRecord(channel, T0 + timedelta(days=d), T0 + timedelta(days=d, hours=1))
        if d in opened
        else PushRecord(channel, T0 + timedelta(days=d))
        for d in days
    ]


def test_a_channel_pauses_after_three_unopened_pushes() -> None:
    assert paused_channels(pushes("sms", 1, 2), None) == frozenset()
    assert paused_channels(pushes("sms", 1, 2, 3), None) == {"sms"}
    assert paused_channels(pushes("sms", 1, 2) + pushes("email", 3), None) == frozenset()


def test_engagement_resumes_paused_channels() -> None:
    history = pushes("sms", 1, 2, 3)
    assert paused_channels(history, T0 + timedelta(days=4)) == frozenset()
    # A tracked-link hit on any push counts as engagement too.
    assert paused_channels(pushes("sms", 1, 2, 3, 4, opened=frozenset({3})), None) == frozenset()
    assert paused_channels(pushes("sms", 1, 2, 3, 4, 5, 6, opened=frozenset({3})), None) == {"sms"}


def test_the_push_falls_back_to_the_next_open_channel() -> None:
    history = pushes("sms", 1, 2, 3)
    at = T0 + timedelta(days=40)
    decision = choose_push(["call", "sms", "email"], CustomerTier.CORE, history, None, at, SH)
    assert (decision.channel, decision.paused) == ("email", frozenset({"sms"}))
    blocked = choose_push(["sms"], CustomerTier.CORE, history, None, at, SH)
    assert (blocked.channel, blocked.reason) == (None, "channels_paused")
    manual = choose_push(["call", "visit"], CustomerTier.CORE, [], None, at, SH)
    assert (manual.channel, manual.reason) == (None, "no_push_channel")


def test_ordinary_customers_get_at_most_two_pushes_a_calendar_month() -> None:
    may = datetime(2024, 5, 20, tzinfo=UTC)
    two = [PushRecord("sms", datetime(2024, 5, d, tzinfo=UTC), may) for d in (2, 9)]
    capped = choose_push(["sms"], CustomerTier.ORDINARY, two, None, may, SH)
    assert (capped.channel, capped.reason) == (None, "monthly_cap")
    # Shanghai's June starts at 16:00 UTC on 31 May.
    june = datetime(2024, 5, 31, 16, 30, tzinfo=UTC)
    assert choose_push(["sms"], CustomerTier.ORDINARY, two, None, june, SH).channel == "sms"
    assert choose_push(["sms"], CustomerTier.CORE, two, None, may, SH).channel == "sms"
    custom = {CustomerTier.ORDINARY: 3}
    assert choose_push(["sms"], CustomerTier.ORDINARY, two, None, may, SH, custom).channel


@given(st.lists(st.integers(0, 120), max_size=40), st.sampled_from(list(CustomerTier)))
def test_caps_hold_in_every_month_whatever_is_attempted(
    offsets: list[int], tier: CustomerTier
) -> None:
    sent: list[PushRecord] = []
    for offset in sorted(offsets):
        at = T0 + timedelta(days=offset)
        decision = choose_push(["sms", "email", "wechat"], tier, sent, at, at, SH)
        if decision.channel is not None:
            sent.append(PushRecord(decision.channel, at, at))
    per_month: dict[tuple[int, int], int] = {}
    for push in sent:
        local = push.at.astimezone(ZoneInfo(SH))
        per_month[(local.year, local.month)] = per_month.get((local.year, local.month), 0) + 1
    cap = {CustomerTier.CORE: 8, CustomerTier.POTENTIAL: 4, CustomerTier.ORDINARY: 2}[tier]
    assert all(n <= cap for n in per_month.values())


def test_month_bounds_follow_the_local_calendar() -> None:
    start, end = month_bounds(datetime(2024, 1, 31, 17, 0, tzinfo=UTC), SH)
    assert start == datetime(2024, 2, 1, tzinfo=ZoneInfo(SH))
    assert end == datetime(2024, 3, 1, tzinfo=ZoneInfo(SH))


# --- care triggers ----------------------------------------------------------------------


def test_birthday_task_lands_three_days_before_at_nine_local() -> None:
    task = birthday_task(date(1985, 5, 20), T0, SH)
    assert task is not None
    assert task.kind is CareKind.BIRTHDAY_GREETING
    assert task.at == datetime(2024, 5, 17, 9, 0, tzinfo=ZoneInfo(SH))
    assert task.key == "birthday:2024-05-20"
    later = birthday_task(date(1985, 5, 20), T0, SH, lead_days=7, fired=[task.key])
    assert later is not None
    assert later.at == datetime(2025, 5, 13, 9, 0, tzinfo=ZoneInfo(SH))


def test_a_birthday_already_passed_this_year_waits_for_next_year() -> None:
    task = birthday_task(date(1990, 3, 1), T0, SH)
    assert task is not None
    assert task.key == "birthday:2025-03-01"
    assert birthday_task(None, T0, SH) is None


def test_leap_day_birthdays_fall_on_the_28th_in_common_years() -> None:
    task = birthday_task(date(1996, 2, 29), datetime(2025, 1, 1, tzinfo=UTC), SH, lead_days=0)
    assert task is not None
    assert task.at.date() == date(2025, 2, 28)


@given(st.dates(date(1930, 1, 1), date(2010, 12, 31)), moments, st.integers(0, 30))
def test_birthday_task_is_for_a_coming_birthday(born: date, now: datetime, lead: int) -> None:
    task = birthday_task(born, now, SH, lead_days=lead)
    assert task is not None
    occurrence = date.fromisoformat(task.data["birthday"])
    assert occurrence >= now.astimezone(ZoneInfo(SH)).date()
    assert task.at.date() == occurrence - timedelta(days=lead)
    assert (occurrence.month, occurrence.day) in {(born.month, born.day), (2, 28)}


def test_dormant_reactivation_after_180_idle_days() -> None:
    touch = datetime(2024, 1, 1, tzinfo=UTC)
    task = dormant_task(touch, since=T0)
    assert (task.kind, task.at) == (CareKind.DORMANT_REACTIVATION, touch + timedelta(days=180))
    assert dormant_task(None, since=T0).at == T0 + timedelta(days=180)
    assert dormant_task(touch + timedelta(days=1), since=T0).key != task.key


def test_upgrade_reminders_only_for_tagged_customers() -> None:
    task = upgrade_task(["ERP", "重点客户"], "ERP", "v5", T0)
    assert task is not None
    assert (task.kind, task.key) == (CareKind.PRODUCT_UPGRADE, "upgrade:ERP:v5")
    assert upgrade_task(["CRM"], "ERP", "v5", T0) is None


# --- RFM --------------------------------------------------------------------------------


def facts(days_ago: int | None, interactions: int = 0, orders: int = 0) -> RfmFacts:
    last = None if days_ago is None else T0 - timedelta(days=days_ago)
    return RfmFacts(last, T0 - timedelta(days=400), interactions, orders)


def test_rfm_segments() -> None:
    assert rfm_segment(facts(200, 20, 10), T0) is CustomerSegment.DORMANT
    assert rfm_segment(facts(None), T0) is CustomerSegment.DORMANT
    assert rfm_segment(facts(5, 12, 2), T0) is CustomerSegment.HIGH_VALUE
    assert rfm_segment(facts(5, 2, 0), T0) is CustomerSegment.POTENTIAL
    assert rfm_segment(facts(100, 20, 10), T0) is CustomerSegment.POTENTIAL


@given(st.integers(0, 400), st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))
def test_more_activity_never_lowers_the_segment(
    days_ago: int, interactions: int, orders: int, extra: int
) -> None:
    rank = {CustomerSegment.DORMANT: 0, CustomerSegment.POTENTIAL: 1, CustomerSegment.HIGH_VALUE: 2}
    base = rfm_segment(facts(days_ago, interactions, orders), T0)
    busier = rfm_segment(facts(days_ago, interactions + extra, orders + extra), T0)
    assert rank[busier] >= rank[base]
