"""The breach-storm bench's calendar, policy and read-back arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from activities.sla_binding import calendar_from_row
from api.sla.schemas import CalendarBody, PolicyBody
from bench import storm
from domain.calendar import add_business_time
from models import BusinessCalendar


def _spec(body: dict[str, object]) -> object:
    dumped = CalendarBody.model_validate(body).model_dump(mode="json")
    row = BusinessCalendar(
        name=dumped["name"],
        timezone=dumped["timezone"],
        working_hours=dumped["working_hours"],
        holidays=dumped["holidays"],
        extra_workdays=dumped["extra_workdays"],
    )
    return calendar_from_row(row, years=range(2026, 2028))


def test_tickets_opened_before_the_opening_all_fall_due_one_second_after_it() -> None:
    opening = datetime(2026, 12, 5, 1, 7, tzinfo=UTC)  # Saturday 09:07 in Shanghai
    spec = _spec(storm.calendar("storm-x", opening))
    for minutes_before in (1, 30, 400):
        opened = opening - timedelta(minutes=minutes_before)
        due = add_business_time(spec, opened, timedelta(seconds=1))  # type: ignore[arg-type]
        assert due == opening + timedelta(seconds=1)


def test_the_calendar_keeps_cn_holidays() -> None:
    spec = _spec(storm.calendar("storm-y", datetime(2026, 12, 5, 1, 7, tzinfo=UTC)))
    assert date(2026, 10, 1) in spec.holidays  # type: ignore[attr-defined]


def test_storm_policy_is_a_valid_policy_body() -> None:
    body = PolicyBody.model_validate(storm.policy("storm-z", 3))
    assert body.calendar_id == 3
    assert {t.first_response for t in body.targets.values()} == {timedelta(seconds=1)}


def test_summary_counts_lateness_rate_and_doubles() -> None:
    opening = datetime(2026, 12, 5, 1, 7, tzinfo=UTC)
    due = (opening + timedelta(seconds=1)).isoformat()
    at = [opening + timedelta(seconds=s) for s in (1.1, 1.2, 1.3, 3.0)]
    rows = [
        (1, "sla_breached", at[0], due, "first_response"),
        (2, "sla_breached", at[1], due, "first_response"),
        (3, "sla_breached", at[2], due, "first_response"),
        (3, "sla_breached", at[3], due, "first_response"),
        (1, "escalated", at[0], due, "first_response"),
    ]
    figures = storm.summarise(rows, opening)
    assert figures["breaches"] == 4
    assert figures["breaches_fired_twice"] == 1
    assert figures["escalations_recorded_twice"] == 0
    assert figures["lateness_p50_ms"] == 200.0
    assert figures["lateness_max_ms"] == 2000.0
    assert figures["breaches_per_second"] == round(4 / 3.0, 1)
    assert figures["due_span_ms"] == 0.0
