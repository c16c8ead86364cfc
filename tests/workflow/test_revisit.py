"""The revisit after resolution: the customer's answer (or silence) closes or reopens."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from domain.sla import Priority
from domain.tickets import SurveyRating, TicketStatus
from tests.workflow.conftest import SKEW, Desk, Staff, Tracked, assert_fired_at, only
from workflows.ticket_types import TicketResult

WINDOW = timedelta(days=3)  # Standard policy: revisit.confirm_within


async def resolved_ticket(desk: Desk, staff: Staff) -> Tracked:
    t = await desk.open(
        Priority.URGENT, department_id=staff.department_id, assignee_id=staff.agent_id
    )
    await t.comment("We are on it.")
    await t.resolve()
    assert (await t.row()).status == "resolved"
    return t


async def final_result(t: Tracked) -> TicketResult:
    """The workflow's return value: it has completed."""
    return TicketResult.model_validate(await asyncio.wait_for(t.handle.result(), timeout=10))


async def test_satisfied_survey_closes_and_completes_the_workflow(desk: Desk) -> None:
    t = await resolved_ticket(desk, await desk.staff())
    await t.survey(SurveyRating.SATISFIED, "Parcel arrived, thanks")
    assert (await final_result(t)).status is TicketStatus.CLOSED
    row = await t.row()
    assert (row.status, row.satisfaction, row.reopen_count) == ("closed", "satisfied", 0)
    survey, closed = await t.events("survey_recorded", "closed")
    assert survey.data == {"rating": "satisfied", "comment": "Parcel arrived, thanks"}
    assert closed.data["reason"] == "customer_satisfied"
    assert closed.seq == survey.seq + 1


async def test_basically_satisfied_survey_closes(desk: Desk) -> None:
    t = await resolved_ticket(desk, await desk.staff())
    await t.survey(SurveyRating.BASICALLY_SATISFIED)
    assert (await final_result(t)).status is TicketStatus.CLOSED
    assert (await t.row()).satisfaction == "basically_satisfied"
    [closed] = await t.events("closed")
    assert closed.data["reason"] == "customer_satisfied"


async def test_unsatisfied_survey_reopens_and_redispatches_with_a_fresh_target(
    desk: Desk,
) -> None:
    staff = await desk.staff()
    t = await resolved_ticket(desk, staff)
    await t.advance_to(t.after(hours=2))
    await t.survey(SurveyRating.UNSATISFIED, "It arrived broken")
    row = await t.row()
    assert (row.status, row.reopen_count, row.assignee_id) == ("processing", 1, None)
    assert row.satisfaction == "unsatisfied"
    survey, reopened = (await t.events())[-2:]
    assert (survey.type, survey.actor) == ("survey_recorded", "customer")
    assert survey.data["comment"] == "It arrived broken"
    assert reopened.type == "reopened"
    assert reopened.data["from_assignee_id"] == staff.agent_id
    notices = await t.notifications("ticket_reopened")
    assert [n.user_id for n in notices] == [staff.manager_id]

    # A new cycle: 24 h (urgent) from the reopen, not from creation.
    sla = await t.sla(reopened.at)
    assert sla.resolution["due_at"] == reopened.at + timedelta(hours=24)
    await t.advance_to(reopened.at + timedelta(hours=25))
    assert_fired_at(
        only(await t.events(), "c1:resolution:breach"), reopened.at + timedelta(hours=24)
    )
    assert [r.key for r in await t.events("sla_breached")] == ["c1:resolution:breach"]


async def test_no_answer_within_the_revisit_window_closes_the_ticket(desk: Desk) -> None:
    t = await resolved_ticket(desk, await desk.staff())
    resolved_at = (await t.events("status_changed"))[-1].at
    await t.advance_to(resolved_at + WINDOW - timedelta(minutes=1))
    assert (await t.row()).status == "resolved"
    await t.advance_to(resolved_at + WINDOW + timedelta(minutes=1))
    assert (await final_result(t)).status is TicketStatus.CLOSED
    [closed] = await t.events("closed")
    assert closed.data["reason"] == "no_answer_within_revisit_window"
    assert (closed.actor, closed.data["from"]) == ("system", "resolved")
    assert resolved_at + WINDOW <= closed.at < resolved_at + WINDOW + SKEW
    row = await t.row()
    assert (row.status, row.satisfaction) == ("closed", None)


async def test_customer_reply_while_resolved_reopens(desk: Desk) -> None:
    staff = await desk.staff()
    t = await resolved_ticket(desk, staff)
    await t.comment("The parcel still has not arrived.", by_customer=True)
    row = await t.row()
    assert (row.status, row.reopen_count, row.assignee_id) == ("processing", 1, staff.agent_id)
    commented, reopened = (await t.events())[-2:]
    assert (commented.type, commented.actor) == ("commented", "customer")
    assert commented.data["body"] == "The parcel still has not arrived."
    assert reopened.type == "reopened"
    assert reopened.data["reason"] == "customer replied after resolution"
    assert [n.user_id for n in await t.notifications("ticket_reopened")] == [staff.agent_id]
    # Reopened tickets no longer wait for the revisit deadline.
    await t.advance_to(reopened.at + WINDOW + timedelta(hours=1))
    assert await t.events("closed") == []
