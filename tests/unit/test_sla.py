"""The SLA clock's promises, one scenario each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import CalendarSpec, Weekday
from domain.holiday_sources import build_calendar_spec
from domain.sla import (
    ActionKind,
    EscalationStep,
    PolicyVersion,
    Priority,
    ScheduledAction,
    SlaEvent,
    SlaEventKind,
    SlaState,
    compute,
    due_actions,
    next_wakeup,
    scheduled_actions,
    standard_policy,
)

H = timedelta(hours=1)
T0 = datetime(2025, 6, 2, 9, tzinfo=UTC)  # a Monday
ALWAYS = CalendarSpec(name="24x7", timezone="UTC")
POLICY = standard_policy()
K = SlaEventKind


def ev(kind: SlaEventKind, hours: float, priority: Priority | None = None) -> SlaEvent:
    return SlaEvent(kind=kind, at=T0 + hours * H, priority=priority)


def created(priority: Priority = Priority.URGENT) -> SlaEvent:
    return ev(K.CREATED, 0, priority)


def keyed(actions: Sequence[ScheduledAction]) -> dict[str, datetime]:
    return {a.key: a.at for a in actions}


def drive(
    events: list[SlaEvent], until_hours: float, cal: CalendarSpec = ALWAYS
) -> list[ScheduledAction]:
    """Run the clock like the workflow: wake at the next action or event, fire what is due."""
    fired: list[ScheduledAction] = []
    keys: set[str] = set()
    now, until = events[0].at, T0 + until_hours * H
    while True:
        actions = scheduled_actions(POLICY, cal, events, now)
        for action in due_actions(actions, now, keys):
            fired.append(action)
            keys.add(action.key)
        times = [t for t in [next_wakeup(actions, keys), *(e.at for e in events)] if t and t > now]
        if not times or min(times) > until:
            return fired
        now = min(times)


def test_urgent_ticket_warns_at_96_minutes_and_breaches_at_two_hours() -> None:
    actions = keyed(scheduled_actions(POLICY, ALWAYS, [created()], T0))
    assert actions["c0:first_response:warning"] == T0 + timedelta(hours=1, minutes=36)
    assert actions["c0:first_response:breach"] == T0 + 2 * H
    almost = compute(POLICY, ALWAYS, [created()], T0 + timedelta(hours=1, minutes=59))
    assert not almost.first_response.breached
    assert almost.first_response.remaining == timedelta(minutes=1)
    late = compute(POLICY, ALWAYS, [created()], T0 + 2 * H)
    assert late.first_response.breached
    assert late.first_response.remaining == timedelta(0)


def test_first_response_before_warning_cancels_warning_and_breach() -> None:
    events = [created(), ev(K.FIRST_RESPONSE, 1), ev(K.FIRST_RESPONSE, 3)]
    actions = keyed(scheduled_actions(POLICY, ALWAYS, events, T0 + 5 * H))
    assert not any(key.startswith("c0:first_response") for key in actions)
    state = compute(POLICY, ALWAYS, events, T0 + 5 * H)
    assert state.first_response.met_at == T0 + H  # the later response is ignored
    assert not state.first_response.breached


def test_late_first_response_stays_breached() -> None:
    events = [created(), ev(K.FIRST_RESPONSE, 3)]
    state = compute(POLICY, ALWAYS, events, T0 + 4 * H)
    assert state.first_response.breached
    assert state.first_response.met_at == T0 + 3 * H
    assert "c0:first_response:breach" in keyed(
        scheduled_actions(POLICY, ALWAYS, events, T0 + 4 * H)
    )


def test_awaiting_customer_for_5h_moves_resolution_due_by_5h() -> None:
    events = [created(), ev(K.PAUSED, 1), ev(K.RESUMED, 6)]
    state = compute(POLICY, ALWAYS, events, T0 + 7 * H)
    assert state.resolution.due_at == T0 + 29 * H
    assert state.first_response.due_at == T0 + 2 * H  # the first-response clock never pauses
    paused = compute(POLICY, ALWAYS, events, T0 + 3 * H)
    assert paused.paused
    assert paused.resolution.due_at is None
    assert paused.resolution.elapsed == H
    assert paused.resolution.remaining == 23 * H
    pending = scheduled_actions(POLICY, ALWAYS, events, T0 + 3 * H)
    assert not [a for a in pending if a.target == "resolution" or a.at > T0 + 3 * H]


def test_priority_raise_recomputes_both_open_targets() -> None:
    events = [created(Priority.NORMAL), ev(K.PRIORITY_CHANGED, 1, Priority.URGENT)]
    state = compute(POLICY, ALWAYS, events, T0 + 1.5 * H)
    assert state.priority == Priority.URGENT
    assert state.first_response.due_at == T0 + 2 * H
    assert state.resolution.due_at == T0 + 24 * H


def test_priority_raise_past_the_new_target_breaches_at_once() -> None:
    events = [created(Priority.NORMAL), ev(K.PRIORITY_CHANGED, 3, Priority.URGENT)]
    now = T0 + 3 * H
    assert compute(POLICY, ALWAYS, events, now).first_response.breached
    due = {a.key for a in due_actions(scheduled_actions(POLICY, ALWAYS, events, now), now, ())}
    assert "c0:first_response:breach" in due


def test_priority_change_after_first_response_keeps_the_met_target() -> None:
    events = [created(), ev(K.FIRST_RESPONSE, 1), ev(K.PRIORITY_CHANGED, 2, Priority.LOW)]
    state = compute(POLICY, ALWAYS, events, T0 + 3 * H)
    assert state.first_response.due_at == T0 + 2 * H
    assert state.resolution.due_at == T0 + 72 * H


def test_tracking_reminders_follow_the_cadence_and_never_more_often() -> None:
    quiet = drive([created(), ev(K.FIRST_RESPONSE, 1)], until_hours=100)
    times = [a.at for a in quiet if a.kind == ActionKind.TRACKING_REMINDER]
    assert times == [T0 + h * H for h in (25, 49, 73, 97)]
    busy = drive([created(), ev(K.FIRST_RESPONSE, 1), ev(K.PROGRESS, 30)], until_hours=100)
    times = [a.at for a in busy if a.kind == ActionKind.TRACKING_REMINDER]
    assert times == [T0 + h * H for h in (25, 54, 78)]


def test_tracking_after_long_silence_lists_only_the_latest_and_next() -> None:
    actions = scheduled_actions(POLICY, ALWAYS, [created()], T0 + 100 * H)
    tracking = [a.at for a in actions if a.kind == ActionKind.TRACKING_REMINDER]
    assert tracking == [T0 + 96 * H, T0 + 120 * H]


def test_escalation_ladder_fires_each_step_once() -> None:
    fired = drive([created()], until_hours=30)
    steps = [(a.step, a.at, a.target) for a in fired if a.kind == ActionKind.ESCALATION]
    # Step 0 and 1 trigger on the earliest breach (first response at +2 h), once per cycle.
    assert steps == [(0, T0 + 2 * H, "first_response"), (1, T0 + 6 * H, "first_response")]
    assert len({a.key for a in fired}) == len(fired)


def test_meeting_the_breached_target_retargets_the_next_step() -> None:
    events = [created(), ev(K.FIRST_RESPONSE, 3)]
    esc = {a.step: a for a in scheduled_actions(POLICY, ALWAYS, events, T0 + 3 * H) if a.step == 1}
    assert esc[1].at == T0 + 28 * H
    assert esc[1].target == "resolution"


def test_resolution_drops_pending_escalations() -> None:
    events = [created(), ev(K.RESOLVED, 5)]
    actions = scheduled_actions(POLICY, ALWAYS, events, T0 + 5 * H)
    escalations = [a for a in actions if a.kind == ActionKind.ESCALATION]
    assert [a.step for a in escalations] == [0]  # fired at +2 h, before the resolution
    assert all(a.at < T0 + 5 * H for a in escalations)


def test_pausing_drops_pending_escalations_until_resumed() -> None:
    events = [created(), ev(K.PAUSED, 4)]
    paused = scheduled_actions(POLICY, ALWAYS, events, T0 + 5 * H)
    assert [a.step for a in paused if a.kind == ActionKind.ESCALATION] == [0]
    resumed = events + [ev(K.RESUMED, 10)]
    now = T0 + 10 * H
    due = due_actions(scheduled_actions(POLICY, ALWAYS, resumed, now), now, {"c0:any:esc0"})
    assert [a.step for a in due if a.kind == ActionKind.ESCALATION] == [1]


def test_no_progress_escalation_is_urgent_only_and_rearmed_by_progress() -> None:
    def no_progress(events: list[SlaEvent], now_hours: float) -> dict[str, datetime]:
        actions = scheduled_actions(POLICY, ALWAYS, events, T0 + now_hours * H)
        return {a.key: a.at for a in actions if a.step == 2}

    assert list(no_progress([created()], 1).values()) == [T0 + 48 * H]
    assert no_progress([created(Priority.NORMAL)], 1) == {}
    rearmed = no_progress([created(), ev(K.PROGRESS, 40)], 41)
    assert list(rearmed.values()) == [T0 + 88 * H]
    assert set(rearmed) != set(no_progress([created()], 1))


def test_revisit_deadline_three_days_after_resolution() -> None:
    events = [created(), ev(K.FIRST_RESPONSE, 1), ev(K.RESOLVED, 5)]
    actions = scheduled_actions(POLICY, ALWAYS, events, T0 + 6 * H)
    assert keyed(actions)["revisit:c0"] == T0 + 77 * H
    assert not [a for a in actions if a.kind == ActionKind.TRACKING_REMINDER]
    assert compute(POLICY, ALWAYS, events, T0 + 6 * H).resolved_at == T0 + 5 * H


def test_closed_ticket_schedules_nothing_more() -> None:
    events = [created(), ev(K.FIRST_RESPONSE, 1), ev(K.RESOLVED, 5), ev(K.CLOSED, 6)]
    actions = scheduled_actions(POLICY, ALWAYS, events, T0 + 6 * H)
    assert not [a for a in actions if a.at >= T0 + 6 * H]
    assert compute(POLICY, ALWAYS, events, T0 + 6 * H).closed
    assert next_wakeup(actions, {a.key for a in actions}) is None


def test_reopen_starts_a_fresh_resolution_cycle() -> None:
    events = [created(), ev(K.FIRST_RESPONSE, 1), ev(K.RESOLVED, 5), ev(K.REOPENED, 30)]
    state = compute(POLICY, ALWAYS, events, T0 + 30 * H)
    assert state.cycle == 1
    assert state.resolved_at is None
    assert state.resolution.elapsed == timedelta(0)
    assert state.resolution.due_at == T0 + 54 * H
    assert state.first_response.met_at == T0 + H
    assert keyed(scheduled_actions(POLICY, ALWAYS, events, T0 + 30 * H))["c1:resolution:breach"]


def test_reopened_ticket_breaches_again_once_per_cycle() -> None:
    events = [created(), ev(K.FIRST_RESPONSE, 1), ev(K.RESOLVED, 30), ev(K.REOPENED, 40)]
    fired = [a.key for a in drive(events, until_hours=80) if a.kind == ActionKind.BREACH]
    assert fired == ["c0:resolution:breach", "c1:resolution:breach"]


def test_cn_calendar_due_lands_after_national_day() -> None:
    office = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    cn = build_calendar_spec("cn", "Asia/Shanghai", office, "CN", years=[2025])
    shanghai = ZoneInfo("Asia/Shanghai")
    opened = SlaEvent(
        kind=K.CREATED, at=datetime(2025, 9, 30, 15, tzinfo=shanghai), priority=Priority.NORMAL
    )
    state = compute(POLICY, cn, [opened], opened.at)
    assert state.first_response.due_at == datetime(2025, 10, 9, 10, tzinfo=shanghai)


def test_office_hours_count_only_business_time() -> None:
    office = CalendarSpec(
        name="office",
        timezone="UTC",
        working_hours={Weekday.MON: [(time(9), time(18))], Weekday.FRI: [(time(9), time(18))]},
    )
    friday = SlaEvent(
        kind=K.CREATED, at=datetime(2025, 6, 6, 17, tzinfo=UTC), priority=Priority.NORMAL
    )
    monday_noon = datetime(2025, 6, 9, 12, tzinfo=UTC)
    state = compute(POLICY, office, [friday], monday_noon)
    assert state.first_response.due_at == monday_noon
    assert state.first_response.elapsed == 4 * H


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2025, 6, 2, 9)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        compute(POLICY, ALWAYS, [created()], naive)
    with pytest.raises(ValueError, match="timezone"):
        SlaEvent(kind=K.CREATED, at=naive, priority=Priority.URGENT)


def test_facts_after_now_are_ignored_and_order_is_by_time() -> None:
    events = [ev(K.FIRST_RESPONSE, 1), created(), ev(K.RESOLVED, 10)]
    state = compute(POLICY, ALWAYS, events, T0 + 2 * H)
    assert state.first_response.met_at == T0 + H
    assert state.resolved_at is None
    with pytest.raises(ValueError, match="CREATED"):
        compute(POLICY, ALWAYS, [ev(K.PROGRESS, 0)], T0)


def test_policy_accepts_the_api_body() -> None:
    target = {"first_response": "PT5S", "resolution": "PT2H"}
    body = {
        "policy_id": 7,
        "version": 2,
        "name": "fast",
        "targets": {"urgent": target, "normal": target, "low": target},
        "warn_at": 0.5,
        "escalation": [{"at": "breach", "notify": "assignee"}, {"at": "PT30M", "notify": "42"}],
        "tracking": {"urgent": "PT24H", "normal": "P3D"},
        "revisit_within": "P3D",
    }
    policy = PolicyVersion.model_validate(body)
    assert policy.targets[Priority.URGENT].first_response == timedelta(seconds=5)
    assert policy.escalation[1].at == timedelta(minutes=30)
    assert policy.escalation[0].at == "breach"
    assert PolicyVersion.model_validate_json(policy.model_dump_json()) == policy
    with pytest.raises(ValueError, match="missing low"):
        PolicyVersion.model_validate({**body, "targets": {"urgent": target, "normal": target}})
    with pytest.raises(ValueError, match="idle duration"):
        EscalationStep(when="no_progress", notify="department_manager")


def test_state_and_actions_round_trip_through_json() -> None:
    events = [created(), ev(K.PAUSED, 1)]
    state = compute(POLICY, ALWAYS, events, T0 + 2 * H)
    assert SlaState.model_validate_json(state.model_dump_json()) == state
    for action in scheduled_actions(POLICY, ALWAYS, events, T0 + 2 * H):
        assert ScheduledAction.model_validate_json(action.model_dump_json()) == action
