"""Business calendar arithmetic and the calendar definitions admins enter."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from domain.calendar import (
    CalendarSpec,
    Weekday,
    add_business_time,
    business_time_between,
    is_working_time,
)
from domain.holiday_sources import build_calendar_spec

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
NINE_TO_SIX = {Weekday(d): [(time(9), time(18))] for d in OFFICE}
H = timedelta(hours=1)


@pytest.fixture(scope="module")
def cn() -> CalendarSpec:
    return build_calendar_spec("cn", "Asia/Shanghai", OFFICE, "CN", years=[2025, 2026, 2027])


def test_24x7_adds_absolute_time_across_dst() -> None:
    cal = CalendarSpec(name="24x7", timezone="America/New_York")
    start = datetime(2025, 3, 8, 12, tzinfo=NEW_YORK)
    due = add_business_time(cal, start, 24 * H)
    assert due == start.astimezone(UTC) + 24 * H
    assert due.astimezone(NEW_YORK).hour == 13  # the spring-forward night was an hour short


def test_office_hours_skip_nights_and_weekends() -> None:
    cal = CalendarSpec(name="office", timezone="UTC", working_hours=NINE_TO_SIX)
    friday = datetime(2025, 6, 6, 17, tzinfo=UTC)
    assert add_business_time(cal, friday, 2 * H) == datetime(2025, 6, 9, 10, tzinfo=UTC)
    assert business_time_between(cal, friday, datetime(2025, 6, 9, 10, tzinfo=UTC)) == 2 * H


def test_72h_target_on_office_hours_takes_eight_working_days() -> None:
    cal = CalendarSpec(name="office", timezone="UTC", working_hours=NINE_TO_SIX)
    monday = datetime(2025, 6, 2, 9, tzinfo=UTC)
    assert add_business_time(cal, monday, 72 * H) == datetime(2025, 6, 11, 18, tzinfo=UTC)


def test_start_outside_hours_counts_from_next_opening() -> None:
    cal = CalendarSpec(name="office", timezone="UTC", working_hours=NINE_TO_SIX)
    night = datetime(2025, 6, 3, 22, tzinfo=UTC)
    assert add_business_time(cal, night, timedelta(minutes=30)) == datetime(
        2025, 6, 4, 9, 30, tzinfo=UTC
    )
    assert add_business_time(cal, night, timedelta(0)) == night


def test_working_time_is_half_open() -> None:
    cal = CalendarSpec(name="office", timezone="Asia/Shanghai", working_hours=NINE_TO_SIX)
    assert is_working_time(cal, datetime(2025, 6, 3, 9, tzinfo=SHANGHAI))
    assert not is_working_time(cal, datetime(2025, 6, 3, 18, tzinfo=SHANGHAI))
    assert not is_working_time(cal, datetime(2025, 6, 7, 10, tzinfo=SHANGHAI))  # Saturday


def test_business_time_between_reversed_span_is_zero() -> None:
    cal = CalendarSpec(name="office", timezone="UTC", working_hours=NINE_TO_SIX)
    later, earlier = datetime(2025, 6, 3, 12, tzinfo=UTC), datetime(2025, 6, 3, 10, tzinfo=UTC)
    assert business_time_between(cal, later, earlier) == timedelta(0)


def test_new_york_dst_days_have_23_and_25_hours() -> None:
    all_day = {d: [(time(0), time(0))] for d in Weekday}
    cal = CalendarSpec(name="ny", timezone="America/New_York", working_hours=all_day)
    spring = datetime(2025, 3, 9, tzinfo=NEW_YORK), datetime(2025, 3, 10, tzinfo=NEW_YORK)
    autumn = datetime(2025, 11, 2, tzinfo=NEW_YORK), datetime(2025, 11, 3, tzinfo=NEW_YORK)
    assert business_time_between(cal, *spring) == 23 * H
    assert business_time_between(cal, *autumn) == 25 * H


def test_office_hours_on_dst_day_stay_nine_hours() -> None:
    every_day = {d: [(time(1), time(4)), (time(9), time(18))] for d in Weekday}
    cal = CalendarSpec(name="ny", timezone="America/New_York", working_hours=every_day)
    day = datetime(2025, 3, 9, tzinfo=NEW_YORK), datetime(2025, 3, 10, tzinfo=NEW_YORK)
    # 01:00-04:00 loses the skipped hour; 09:00-18:00 is untouched.
    assert business_time_between(cal, *day) == 11 * H
    due = add_business_time(cal, datetime(2025, 3, 9, 1, tzinfo=NEW_YORK), 2 * H)
    assert due.astimezone(NEW_YORK) == datetime(2025, 3, 9, 4, tzinfo=NEW_YORK)


def test_hours_ending_inside_the_dst_gap_never_count_twice() -> None:
    hours = {d: [(time(1), time(2, 30)), (time(3), time(4))] for d in Weekday}
    cal = CalendarSpec(name="ny", timezone="America/New_York", working_hours=hours)
    day = datetime(2025, 3, 9, tzinfo=NEW_YORK), datetime(2025, 3, 10, tzinfo=NEW_YORK)
    # 01:00-04:00 on spring-forward day is 2 real hours; 02:30 does not exist.
    assert business_time_between(cal, *day) == 2 * H


def test_holiday_removes_a_weekday_and_extra_workday_adds_a_weekend_day() -> None:
    hours = {Weekday.MON: [(time(10), time(12))], Weekday.TUE: [(time(9), time(18))]}
    cal = CalendarSpec(
        name="x",
        timezone="UTC",
        working_hours=hours,
        holidays=frozenset({date(2025, 6, 2)}),  # a Monday
        extra_workdays=frozenset({date(2025, 6, 7)}),  # a Saturday, works Monday's hours
    )
    assert business_time_between(
        cal, datetime(2025, 6, 2, tzinfo=UTC), datetime(2025, 6, 3, tzinfo=UTC)
    ) == timedelta(0)
    assert business_time_between(
        cal, datetime(2025, 6, 7, tzinfo=UTC), datetime(2025, 6, 8, tzinfo=UTC)
    ) == (2 * H)
    assert is_working_time(cal, datetime(2025, 6, 7, 11, tzinfo=UTC))


def test_24x7_with_holidays_skips_the_holiday() -> None:
    cal = CalendarSpec(name="x", timezone="UTC", holidays=frozenset({date(2025, 6, 3)}))
    start = datetime(2025, 6, 2, 12, tzinfo=UTC)
    assert add_business_time(cal, start, 24 * H) == datetime(2025, 6, 4, 12, tzinfo=UTC)
    assert not is_working_time(cal, datetime(2025, 6, 3, 12, tzinfo=UTC))


def test_calendar_without_working_time_raises_instead_of_looping() -> None:
    cal = CalendarSpec(name="never", timezone="UTC", working_hours={})
    with pytest.raises(ValueError, match="no working time"):
        add_business_time(cal, datetime(2025, 1, 1, tzinfo=UTC), H)
    span = datetime(2025, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)
    assert business_time_between(cal, *span) == timedelta(0)


def test_naive_datetimes_are_rejected() -> None:
    cal = CalendarSpec(name="24x7", timezone="UTC")
    naive = datetime(2025, 1, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(cal, naive, H)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_time_between(cal, datetime(2025, 1, 1, tzinfo=UTC), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_working_time(cal, naive)


def test_spec_round_trips_through_json(cn: CalendarSpec) -> None:
    again = CalendarSpec.model_validate_json(cn.model_dump_json())
    assert again == cn
    assert cn.model_dump_json() == again.model_dump_json()


def test_spec_rejects_bad_definitions() -> None:
    with pytest.raises(ValueError, match="timezone"):
        CalendarSpec(name="x", timezone="Mars/Base")
    with pytest.raises(ValueError, match="overlap"):
        CalendarSpec(
            name="x",
            timezone="UTC",
            working_hours={Weekday.MON: [(time(9), time(12)), (time(11), time(13))]},
        )
    with pytest.raises(ValueError, match="both list 2025-06-07"):
        CalendarSpec(
            name="x",
            timezone="UTC",
            holidays=frozenset({date(2025, 6, 7)}),
            extra_workdays=frozenset({date(2025, 6, 7)}),
        )


def test_cn_national_day_pushes_due_past_the_holiday(cn: CalendarSpec) -> None:
    start = datetime(2025, 9, 30, 15, tzinfo=SHANGHAI)  # the day before Oct 1-8, 2025
    due = add_business_time(cn, start, 4 * H)
    assert due.astimezone(SHANGHAI) == datetime(2025, 10, 9, 10, tzinfo=SHANGHAI)


def test_cn_make_up_sunday_counts_as_working_time(cn: CalendarSpec) -> None:
    make_up = date(2025, 9, 28)
    assert make_up.weekday() == 6
    assert chinese_calendar.is_workday(make_up)
    start = datetime(2025, 9, 26, 17, tzinfo=SHANGHAI)  # Friday
    due = add_business_time(cn, start, 4 * H)
    assert due.astimezone(SHANGHAI) == datetime(2025, 9, 28, 12, tzinfo=SHANGHAI)


def test_cn_year_past_chinese_calendar_is_provisional(cn: CalendarSpec) -> None:
    assert cn.provisional_years == frozenset({2027})
    assert date(2027, 10, 1) in cn.holidays  # from the holidays package fallback
    start = datetime(2027, 9, 30, 17, tzinfo=SHANGHAI)
    assert add_business_time(cn, start, 2 * H) > start


def test_admin_dates_merge_with_the_source() -> None:
    cal = build_calendar_spec(
        "cn",
        "Asia/Shanghai",
        OFFICE,
        "CN",
        extra_workdays=[date(2027, 10, 9)],
        years=[2027],
        extra_holidays=[date(2027, 12, 24)],
    )
    assert date(2027, 10, 9) in cal.extra_workdays
    assert {date(2027, 12, 24), date(2027, 10, 1)} <= cal.holidays


def test_other_sources_none_and_explicit_dates() -> None:
    us = build_calendar_spec("us", "America/New_York", OFFICE, "US", years=[2025])
    assert date(2025, 7, 4) in us.holidays
    assert not us.provisional_years
    assert not build_calendar_spec("x", "UTC", "24x7", "none").holidays
    explicit = build_calendar_spec("x", "UTC", "24x7", [date(2025, 5, 1)])
    assert explicit.holidays == frozenset({date(2025, 5, 1)})
    assert explicit.working_hours is None


def test_stored_iso_strings_are_accepted_and_admin_workdays_beat_source_holidays() -> None:
    # Calendar rows keep dates as JSON strings; an admin may turn a source holiday into a workday.
    cal = build_calendar_spec(
        "us", "UTC", OFFICE, "US", extra_workdays=["2025-07-04"], years=[2025]
    )
    assert date(2025, 7, 4) in cal.extra_workdays
    assert date(2025, 7, 4) not in cal.holidays
    explicit = build_calendar_spec("x", "UTC", OFFICE, ["2025-05-01"])
    assert explicit.holidays == frozenset({date(2025, 5, 1)})
    with pytest.raises(ValueError, match="extra_workdays: bad date 'soon'"):
        build_calendar_spec("x", "UTC", OFFICE, "none", extra_workdays=["soon"])


def test_end_of_day_is_written_24_00() -> None:
    cal = build_calendar_spec("late", "UTC", {"mon": [["18:00", "24:00"]]}, "none")
    monday = datetime(2025, 6, 2, tzinfo=UTC)
    assert business_time_between(cal, monday, monday + 24 * H) == 6 * H


@pytest.mark.parametrize(
    ("hours", "tz", "source", "message"),
    [
        ({"mon": [["9am", "18:00"]]}, "UTC", "none", r"working_hours.mon\[0\]: bad time '9am'"),
        ({"mon": [["18:00", "09:00"]]}, "UTC", "none", "must be after start"),
        ({"funday": [["09:00", "18:00"]]}, "UTC", "none", "unknown weekday 'funday'"),
        ({"mon": [["09:00", "18:00"]]}, "Nowhere/City", "none", "timezone: unknown"),
        ({"mon": [["09:00", "18:00"]]}, "UTC", "XX", "holidays: unknown holiday source 'XX'"),
        ("9x5", "UTC", "none", "working_hours"),
        ({}, "UTC", "none", "no working hours"),
    ],
)
def test_build_rejects_bad_input_naming_the_field(
    hours: Any, tz: str, source: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_calendar_spec("x", tz, hours, source, years=[2025])
