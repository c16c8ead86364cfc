"""The SLA clock inside the ticket workflow, on a time-skipping server: timers fire when due."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from domain.calendar import add_business_time
from domain.sla import Priority
from domain.tickets import TicketStatus
from tests.workflow.conftest import SKEW, STANDARD_BODY, Desk, assert_fired_at, only

SLA = ("sla_warning", "sla_breached", "escalated")


async def test_urgent_ticket_warns_breaches_and_escalates_each_exactly_once(desk: Desk) -> None:
    staff = await desk.staff()
    t = await desk.open(
        Priority.URGENT, department_id=staff.department_id, assignee_id=staff.agent_id
    )
    await t.advance_to(t.after(hours=1, minutes=35))
    assert await t.events(*SLA) == []

    await t.advance_to(t.after(hours=2, minutes=30))
    fired = await t.events(*SLA)
    assert_fired_at(only(fired, "c0:first_response:warning"), t.after(hours=1, minutes=36))
    breach = only(fired, "c0:first_response:breach")
    assert_fired_at(breach, t.after(hours=2))
    step0 = only(fired, "c0:any:esc0")
    assert_fired_at(step0, t.after(hours=2))
    assert step0.seq > breach.seq, "the timeline shows the breach before its escalation"
    assert (step0.data["step"], step0.data["notify"], step0.data["level"]) == (
        0,
        "department_manager",
        1,
    )

    await t.advance_to(t.after(hours=30))
    fired = await t.events(*SLA)
    assert [r.key for r in fired if ":first_response:" in r.key] == [
        "c0:first_response:warning",
        "c0:first_response:breach",
    ]
    step1 = only(fired, "c0:any:esc1")
    assert_fired_at(step1, t.after(hours=6))
    assert (step1.data["notify"], step1.data["level"]) == ("role:admin", 2)
    # The resolution breach at +24 h does not climb the ladder again in the same cycle.
    assert_fired_at(only(fired, "c0:resolution:breach"), t.after(hours=24))
    assert [r.key for r in fired if r.type == "escalated"] == ["c0:any:esc0", "c0:any:esc1"]

    escalations = await t.notifications("sla_escalated")
    by_step = Counter((n.payload["key"], n.user_id) for n in escalations)
    assert by_step[("c0:any:esc0", staff.manager_id)] == 1
    assert {user for key, user in by_step if key == "c0:any:esc0"} == {staff.manager_id}
    assert by_step[("c0:any:esc1", staff.admin_id)] == 1
    assert staff.manager_id not in {user for key, user in by_step if key == "c0:any:esc1"}
    assert set(by_step.values()) == {1}, "someone was notified twice for one step"
    breaches = await t.notifications("sla_breached")
    assert Counter(n.payload["key"] for n in breaches if n.user_id == staff.agent_id) == {
        "c0:first_response:breach": 1,
        "c0:resolution:breach": 1,
    }
    row = await t.row()
    assert (row.escalation_level, row.sla_breached) == (2, True)


async def test_public_staff_reply_before_deadline_prevents_first_response_warning_and_breach(
    desk: Desk,
) -> None:
    staff = await desk.staff()
    t = await desk.open(
        Priority.URGENT, department_id=staff.department_id, assignee_id=staff.agent_id
    )
    await t.advance_to(t.after(minutes=30))
    await t.comment("checking with the courier", public=False)
    await t.advance_to(t.after(hours=1))
    await t.comment("We are on it and will call you within the hour.")
    replied = (await t.events("commented"))[-1].at

    await t.advance_to(t.after(hours=3))
    assert [r.key for r in await t.events(*SLA) if ":first_response:" in r.key] == []
    row = await t.row()
    assert row.first_response_at == replied, "only the public reply is the first response"
    sla = await t.sla(t.after(hours=3))
    assert sla.first_response["met_at"] == replied
    assert sla.first_response["breached"] is False


async def test_awaiting_customer_pauses_resolution_clock_for_exactly_the_pause(
    desk: Desk,
) -> None:
    staff = await desk.staff()
    t = await desk.open(
        Priority.URGENT, department_id=staff.department_id, assignee_id=staff.agent_id
    )
    await t.comment("We are looking into it.")
    await t.status(TicketStatus.PROCESSING, "courier contacted")
    await t.advance_to(t.after(hours=1))
    await t.status(TicketStatus.AWAITING_CUSTOMER, "asked for a photo of the label")
    await t.advance_to((await t.events())[-1].at + timedelta(hours=5))
    await t.comment("here is the photo", by_customer=True)
    changes = await t.events("status_changed")
    assert [(c.data["from"], c.data["to"]) for c in changes] == [
        ("pending", "processing"),
        ("processing", "awaiting_customer"),
        ("awaiting_customer", "processing"),
    ]
    pause = changes[2].at - changes[1].at
    assert timedelta(hours=5) <= pause < timedelta(hours=5) + SKEW

    sla = await t.sla(t.after(hours=7))
    assert sla.resolution["due_at"] == t.after(hours=24) + pause
    assert sla.paused is False

    await t.advance_to(t.after(hours=24, minutes=30))
    assert [r.key for r in await t.events("sla_breached")] == []
    await t.advance_to(t.after(hours=30))
    fired = await t.events(*SLA)
    assert_fired_at(only(fired, "c0:resolution:warning"), t.after(hours=19, minutes=12) + pause)
    assert_fired_at(only(fired, "c0:resolution:breach"), t.after(hours=24) + pause)


async def test_priority_raised_midway_recomputes_deadlines_from_creation(desk: Desk) -> None:
    staff = await desk.staff()
    t = await desk.open(
        Priority.NORMAL, department_id=staff.department_id, assignee_id=staff.agent_id
    )
    await t.advance_to(t.after(hours=1))
    await t.priority(Priority.URGENT)
    sla = await t.sla(t.after(hours=1, minutes=1))
    assert sla.first_response["due_at"] == t.after(hours=2)
    assert sla.resolution["due_at"] == t.after(hours=24)

    await t.advance_to(t.after(hours=24, minutes=30))
    fired = await t.events("sla_warning", "sla_breached")
    assert [r.key for r in fired] == [
        "c0:first_response:warning",
        "c0:first_response:breach",
        "c0:resolution:warning",
        "c0:resolution:breach",
    ]
    assert_fired_at(fired[0], t.after(hours=1, minutes=36))
    assert_fired_at(fired[1], t.after(hours=2))
    assert_fired_at(fired[2], t.after(hours=19, minutes=12))
    assert_fired_at(fired[3], t.after(hours=24))


async def test_tracking_reminders_follow_the_cadence_after_the_last_progress(
    desk: Desk,
) -> None:
    staff = await desk.staff()
    t = await desk.open(
        Priority.NORMAL, department_id=staff.department_id, assignee_id=staff.agent_id
    )
    await t.comment("We are on it.")
    await t.status(TicketStatus.PROCESSING, "courier contacted")
    progress = (await t.events())[-1].at
    cadence = timedelta(days=3)  # Standard policy, normal priority

    await t.advance_to(progress + timedelta(days=10))  # three cadences have passed
    reminders = await t.events("reminder_sent")
    assert len(reminders) == 3
    for k, reminder in enumerate(reminders, start=1):
        assert_fired_at(reminder, progress + k * cadence)
        assert reminder.data["cadence_seconds"] == cadence.total_seconds()

    await t.comment("Still chasing the courier.")
    progress = (await t.events())[-1].at
    await t.advance_to(progress + cadence - timedelta(minutes=1))
    assert len(await t.events("reminder_sent")) == 3, "a reminder came before the cadence"
    await t.advance_to(progress + cadence + timedelta(hours=1))
    reminders = await t.events("reminder_sent")
    assert len(reminders) == 4
    assert_fired_at(reminders[-1], progress + cadence)
    notices = await t.notifications("tracking_reminder")
    assert [n.user_id for n in notices] == [staff.agent_id] * 4


async def test_urgent_ticket_without_progress_for_48h_escalates_once(desk: Desk) -> None:
    staff = await desk.staff()
    t = await desk.open(
        Priority.URGENT, department_id=staff.department_id, assignee_id=staff.agent_id
    )
    await t.comment("We are on it.")
    await t.advance_to(t.after(hours=30))
    await t.comment("Waiting for the warehouse.")
    progress = (await t.events())[-1].at

    await t.advance_to(progress + timedelta(hours=47))
    idle = [r for r in await t.events("escalated") if r.data["when"] == "no_progress"]
    assert idle == [], "the earlier progress re-armed the no-progress step"
    await t.advance_to(t.after(hours=150))
    idle = [r for r in await t.events("escalated") if r.data["when"] == "no_progress"]
    assert len(idle) == 1
    assert_fired_at(idle[0], progress + timedelta(hours=48))
    assert (idle[0].data["step"], idle[0].data["notify"]) == (2, "department_manager")
    notices = [n for n in await t.notifications("sla_escalated") if n.payload["key"] == idle[0].key]
    assert [n.user_id for n in notices] == [staff.manager_id]


async def test_cn_business_calendar_drives_the_workflow_clock(desk: Desk) -> None:
    staff = await desk.staff()
    category = f"cn-{staff.department_id}"
    await desk.bind_policy(category, STANDARD_BODY, calendar_id=2)
    t = await desk.open(
        Priority.NORMAL,
        category=category,
        department_id=staff.department_id,
        assignee_id=staff.agent_id,
    )
    row = await t.row()
    calendar = t.calendar(row)
    assert (calendar.name, calendar.timezone) == ("CN business hours", "Asia/Shanghai")
    assert row.sla_binding is not None
    assert row.sla_binding["policy"]["name"] == f"ts-{category}"
    due = add_business_time(calendar, t.created_at, timedelta(hours=4))
    warn = add_business_time(calendar, t.created_at, timedelta(hours=3, minutes=12))
    assert (await t.sla(t.created_at)).first_response["due_at"] == due

    await t.advance_to(due - timedelta(seconds=1))
    assert [r.key for r in await t.events("sla_breached")] == []
    await t.advance_to(due + timedelta(minutes=1))
    fired = await t.events("sla_warning", "sla_breached")
    assert_fired_at(only(fired, "c0:first_response:warning"), warn)
    assert_fired_at(only(fired, "c0:first_response:breach"), due)
