"""Auto-dispatch: load rules and the department's agents, let domain.routing decide."""

from __future__ import annotations

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from domain import routing
from domain.routing import (
    AssigneeStrategy,
    Candidate,
    DispatchDecision,
    DispatchOutcome,
    DispatchRequest,
    TicketFacts,
)
from domain.tickets import OPEN_STATUSES
from models import Category, RoundRobinCursor, Ticket, User
from models import RoutingRule as RuleRow

# Serialises dispatches into one department, so two new tickets never both see the same load.
_LOCK_NAMESPACE = 4004


class DispatchActivities:
    """Holds the session factory; one transaction per dispatch."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name="dispatch_ticket")
    async def dispatch_ticket(self, inp: DispatchRequest) -> DispatchDecision:
        """Pick the department and person for a new unassigned ticket and reserve the person."""
        async with self._sessions.begin() as session:
            facts = await _with_customer_tier(session, inp)
            rule = routing.select_rule(await _active_rules(session), facts)
            if rule is None:
                department_id = await session.scalar(
                    select(Category.department_id).where(
                        Category.code == facts.category, Category.active
                    )
                )
                rule = routing.default_rule(facts, department_id)
            if rule is None:
                return routing.decide(None, [])
            await session.execute(
                select(func.pg_advisory_xact_lock(_LOCK_NAMESPACE, rule.department_id))
            )
            ticket = await session.get(Ticket, inp.ticket_id, with_for_update=True)
            if ticket is not None and ticket.assignee_id is not None:
                # A retry of a dispatch that already reserved someone: same answer.
                return routing.decide(rule, [Candidate(user_id=ticket.assignee_id)])
            cursor = await session.get(RoundRobinCursor, rule.department_id, with_for_update=True)
            last = cursor.last_user_id if cursor else None
            decision = routing.decide(rule, await _candidates(session, rule), last)
            if decision.outcome is DispatchOutcome.ASSIGNED:
                await _reserve(session, inp.ticket_id, decision)
            return decision


async def _with_customer_tier(session: AsyncSession, inp: DispatchRequest) -> TicketFacts:
    """The facts with the customer's tier, when the ticket names a known customer."""
    facts = inp.facts
    ticket = await session.get(Ticket, inp.ticket_id)
    if ticket is None or ticket.customer_id is None or facts.customer_tier is not None:
        return facts
    # Customers live in their own module's table; tolerate a database without it.
    if await session.scalar(text("SELECT to_regclass('public.customers') IS NOT NULL")):
        tier = await session.scalar(
            text("SELECT tier FROM customers WHERE id = :id"), {"id": ticket.customer_id}
        )
        if tier is not None:
            return facts.model_copy(update={"customer_tier": str(tier)})
    return facts


async def _active_rules(session: AsyncSession) -> list[routing.RoutingRule]:
    rows = await session.scalars(select(RuleRow).where(RuleRow.active).order_by(RuleRow.id))
    return [
        routing.RoutingRule(
            id=row.id,
            position=row.position,
            category=row.category,
            channel=row.channel,
            customer_tier=row.customer_tier,
            keywords=list(row.keywords or []),
            department_id=row.department_id,
            strategy=AssigneeStrategy(row.assignee_strategy),
            assignee_id=row.assignee_id,
        )
        for row in rows
    ]


async def _candidates(session: AsyncSession, rule: routing.RoutingRule) -> list[Candidate]:
    """Active agents of the department (or the fixed person) with their open-ticket counts."""
    people = select(User.id).where(User.is_active)
    if rule.strategy is AssigneeStrategy.FIXED:
        people = people.where(User.id == rule.assignee_id)
    else:
        people = people.where(User.department_id == rule.department_id, User.role == "agent")
    ids = list(await session.scalars(people))
    if not ids:
        return []
    rows = await session.execute(
        select(Ticket.assignee_id, func.count())
        .where(
            Ticket.assignee_id.in_(ids),
            Ticket.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .group_by(Ticket.assignee_id)
    )
    counts: dict[int, int] = {assignee: n for assignee, n in rows if assignee is not None}
    return [Candidate(user_id=i, open_tickets=counts.get(i, 0)) for i in ids]


async def _reserve(session: AsyncSession, ticket_id: int, decision: DispatchDecision) -> None:
    """Write the choice to the row before the event lands, so the next dispatch counts it."""
    assert decision.department_id is not None
    await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.assignee_id.is_(None))
        .values(assignee_id=decision.assignee_id, department_id=decision.department_id)
    )
    if decision.strategy is AssigneeStrategy.ROUND_ROBIN:
        values = {
            "department_id": decision.department_id,
            "last_user_id": decision.assignee_id,
            "last_ticket_id": ticket_id,
        }
        await session.execute(
            insert(RoundRobinCursor)
            .values(**values)
            .on_conflict_do_update(index_elements=["department_id"], set_=values)
        )
