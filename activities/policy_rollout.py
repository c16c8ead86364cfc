"""Rollout activities: count the tickets to move, rebind a page of them by Update, finish."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.sla_binding import calendar_from_body, policy_from_row
from models import (
    AuditEntry,
    CalendarVersion,
    PolicyRollout,
    PolicyRolloutItem,
    SlaPolicy,
    SlaPolicyVersion,
    Ticket,
    TicketEvent,
)
from workflows.rollout_types import PageResult, RolloutCounts, RolloutPage, RolloutRef
from workflows.ticket_types import RebindInput

# The ticket is gone or finished: nothing to move (not a failure of the rollout).
_GONE = (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION)


def _to_move(ref: RolloutRef | RolloutPage) -> ColumnElement[bool]:
    """Open tickets of the policy not yet on the target policy and calendar versions."""
    return and_(
        Ticket.policy_id == ref.policy_id,
        Ticket.status != "closed",
        or_(
            Ticket.policy_version != ref.to_version,
            Ticket.calendar_version.is_distinct_from(ref.calendar_version),
        ),
    )


class RolloutActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], client: Client) -> None:
        self._sessions = sessions
        self._client = client

    @activity.defn(name="count_rollout")
    async def count_rollout(self, ref: RolloutRef) -> int:
        """Record how many open tickets the rollout starts with."""
        async with self._sessions.begin() as session:
            total = await session.scalar(select(func.count()).where(_to_move(ref))) or 0
            await session.execute(
                update(PolicyRollout).where(PolicyRollout.id == ref.rollout_id).values(total=total)
            )
        return total

    @activity.defn(name="rebind_page")
    async def rebind_page(self, page: RolloutPage) -> PageResult:
        """The next page by keyset (id > after), each ticket rebound by an Update, bounded."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Ticket.id, Ticket.workflow_id, Ticket.created_at)
                    .where(_to_move(page), Ticket.id > page.after_id)
                    .order_by(Ticket.id)
                    .limit(page.limit)
                )
            ).all()
            if not rows:
                return PageResult(last_id=page.after_id, seen=0)
            years = range(min(r.created_at for r in rows).year, datetime.now(UTC).year + 2)
            rebind = await self._rebind_input(session, page, years)
        gate = asyncio.Semaphore(page.concurrency)

        async def one(ticket_id: int, workflow_id: str) -> tuple[int, str, str | None]:
            async with gate:
                outcome = await self._send(ticket_id, workflow_id, page.rollout_id, rebind)
            activity.heartbeat(ticket_id)
            return outcome

        outcomes = await asyncio.gather(*(one(r.id, r.workflow_id) for r in rows))
        counts = await self._record(page.rollout_id, outcomes)
        return PageResult(
            last_id=rows[-1].id,
            seen=len(rows),
            rebound=counts["rebound"],
            skipped=counts["skipped"],
            failed=counts["failed"],
        )

    async def _rebind_input(
        self, session: AsyncSession, page: RolloutPage, years: range
    ) -> RebindInput:
        policy = await session.get(SlaPolicy, page.policy_id)
        version = await session.scalar(
            select(SlaPolicyVersion).where(
                SlaPolicyVersion.policy_id == page.policy_id,
                SlaPolicyVersion.version == page.to_version,
            )
        )
        if policy is None or version is None:
            raise ApplicationError(
                f"policy {page.policy_id} v{page.to_version} is gone", non_retryable=True
            )
        calendar = await session.scalar(
            select(CalendarVersion).where(
                CalendarVersion.calendar_id == version.calendar_id,
                CalendarVersion.version == page.calendar_version,
            )
        )
        if calendar is None:
            raise ApplicationError(
                f"calendar {version.calendar_id} v{page.calendar_version} is gone",
                non_retryable=True,
            )
        return RebindInput(
            actor=page.actor,
            rollout_id=page.rollout_id,
            policy=policy_from_row(policy, version),
            calendar=calendar_from_body(calendar.body, years),
            calendar_version=page.calendar_version,
        )

    async def _send(
        self, ticket_id: int, workflow_id: str, rollout_id: int, rebind: RebindInput
    ) -> tuple[int, str, str | None]:
        """One ticket's outcome: rebound, skipped (refused or finished) or failed."""
        handle = self._client.get_workflow_handle(workflow_id)
        try:
            # A stable update id: a retried page does not run the same Update twice.
            await handle.execute_update(
                "rebind_policy", rebind, id=f"rollout-{rollout_id}-{ticket_id}"
            )
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type == "Conflict":
                return ticket_id, "skipped", str(cause.message)[:200]
            return ticket_id, "failed", str(cause or exc)[:200]
        except RPCError as exc:
            if exc.status in _GONE:
                return ticket_id, "skipped", exc.message[:200]
            raise  # the server is unreachable: retry the page
        return ticket_id, "rebound", None

    async def _record(
        self, rollout_id: int, outcomes: list[tuple[int, str, str | None]]
    ) -> Counter[str]:
        """Keyed progress rows; counters move only by the rows this call inserted."""
        async with self._sessions.begin() as session:
            inserted = await session.scalars(
                insert(PolicyRolloutItem)
                .values(
                    [
                        {"rollout_id": rollout_id, "ticket_id": t, "outcome": o, "detail": d}
                        for t, o, d in outcomes
                    ]
                )
                .on_conflict_do_nothing()
                .returning(PolicyRolloutItem.outcome)
            )
            counts = Counter(inserted)
            await session.execute(
                update(PolicyRollout)
                .where(PolicyRollout.id == rollout_id)
                .values(
                    rebound=PolicyRollout.rebound + counts["rebound"],
                    skipped=PolicyRollout.skipped + counts["skipped"],
                    failed=PolicyRollout.failed + counts["failed"],
                )
            )
        return counts

    @activity.defn(name="finish_rollout")
    async def finish_rollout(self, ref: RolloutRef) -> RolloutCounts:
        """Final counts; `rebound` from the tickets' own policy_rebound events (exact)."""
        async with self._sessions.begin() as session:
            rebound = await session.scalar(
                select(func.count()).where(
                    TicketEvent.type == "policy_rebound",
                    TicketEvent.data["rollout_id"].as_integer() == ref.rollout_id,
                )
            )
            rollout = await session.get(PolicyRollout, ref.rollout_id, with_for_update=True)
            assert rollout is not None
            counts = RolloutCounts(
                total=rollout.total,
                rebound=rebound or 0,
                skipped=rollout.skipped,
                failed=rollout.failed,
            )
            if rollout.status == "running":
                rollout.rebound = counts.rebound
                rollout.status = "completed"
                rollout.finished_at = datetime.now(UTC)
                session.add(
                    AuditEntry(
                        actor_id=rollout.created_by,
                        action="sla_policy.rollout_finished",
                        resource="policy_rollout",
                        resource_id=str(rollout.id),
                        data={
                            "policy_id": ref.policy_id,
                            "version": ref.to_version,
                            **counts.model_dump(),
                        },
                    )
                )
            return counts
