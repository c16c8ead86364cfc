"""Pure report rules: durations from the SLA clock, periods, filters and the figure formulas."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain.reports.definitions import csat, rate, share
from domain.reports.facts import ticket_durations
from domain.reports.filters import FilterError, Granularity, build_filters
from domain.reports.periods import periods
from domain.reports.schedule import Cadence, FileFormat, Period, previous_period, run_filename
from domain.sla import SlaEvent, standard_policy
from tests.api.report_support import CALENDAR, TICKETS


def durations(key: str, as_of: datetime | None = None):  # type: ignore[no-untyped-def]
    spec = TICKETS[key]
    events = [
        SlaEvent.model_validate(
            {"kind": k, "at": m, **({"priority": spec["priority"]} if k == "created" else {})}
        )
        for k, m in spec["events"]
    ]
    last = spec["events"][-1][1]
    return ticket_durations(standard_policy(), CALENDAR, events, events[0].at, as_of or last)


def test_a_pause_is_excluded_from_business_time_but_not_from_calendar_time() -> None:
    d = durations("T2")
    assert (d.resolution_business_s, d.resolution_calendar_s) == (10800, 25200)
    assert (d.first_response_business_s, d.first_response_met) == (1800, True)


def test_a_holiday_counts_no_business_time() -> None:
    d = durations("T3")
    assert (d.first_response_business_s, d.first_response_calendar_s) == (7200, 147600)
    assert (d.resolution_business_s, d.resolution_met) == (32400, True)


def test_a_reopened_ticket_sums_its_cycles() -> None:
    d = durations("T4")
    assert (d.resolution_business_s, d.resolution_calendar_s) == (36000, 93600)


def test_an_unanswered_ticket_past_due_is_breached_and_undecided_for_resolution() -> None:
    d = durations("T5")
    assert (d.first_response_business_s, d.first_response_met, d.resolution_met) == (
        None,
        False,
        None,
    )


def test_rates_round_half_up_and_never_divide_by_zero() -> None:
    assert rate(2, 3) == 66.67
    assert rate(1, 0) is None
    assert csat(2, 1, 4) == 75.0
    assert share(1, 6) == 0.1667


def test_filters_default_to_thirty_days_and_name_bad_fields() -> None:
    f = build_filters({}, date(2025, 10, 5), "Asia/Shanghai")
    assert (f.end - f.start).days == 30
    assert f.end.isoformat() == "2025-10-06T00:00:00+08:00"
    with pytest.raises(FilterError) as caught:
        build_filters({"granularity": "year"}, date(2025, 10, 5), "Asia/Shanghai")
    assert caught.value.field == "granularity"


def test_weeks_start_on_monday_and_are_clipped_to_the_window() -> None:
    f = build_filters(
        {"from": "2025-09-24", "to": "2025-10-05", "granularity": "week"},
        date(2025, 10, 5),
        "Asia/Shanghai",
    )
    assert f.granularity is Granularity.WEEK
    spans = periods(f)
    assert [p.label for p in spans] == ["2025-09-22", "2025-09-29"]
    assert spans[0].start == f.start


def test_a_run_covers_the_previous_week_or_month() -> None:
    assert previous_period(Cadence.WEEKLY, date(2025, 10, 6)) == Period(
        start=date(2025, 9, 29), end=date(2025, 10, 5)
    )
    assert previous_period(Cadence.MONTHLY, date(2025, 3, 1)) == Period(
        start=date(2025, 2, 1), end=date(2025, 2, 28)
    )
    name = run_filename(
        "周报/总部", Period(start=date(2025, 9, 29), end=date(2025, 10, 5)), FileFormat.PDF
    )
    assert name == "周报_总部-2025-09-29-2025-10-05.pdf"
