"""Activities of the service-order workflow: stage alerts and completions (keyed, conditional)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.recipients import resolve_recipients
from activities.sales_records import notify_staff, order_event
from core.settings import Settings
from domain.sales.links import link_token
from domain.sales.service_orders import OrderStatus, StageStatus
from models import CustomerContact, ServiceOrder, ServiceOrderStage, User
from workflows.service_order_types import StageAlert, StageCompletion


def survey_link(settings: Settings, order_id: int) -> str:
    secret = settings.secret_key.get_secret_value().encode()
    base = settings.public_base_url or f"http://{settings.api_host}:{settings.api_port}"
    return f"{base.rstrip('/')}/api/v1/public/surveys/{link_token(secret, 'survey', order_id)}"


class ServiceOrderActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings

    async def _stage(self, session: AsyncSession, order_id: int, index: int) -> ServiceOrderStage:
        stage = await session.scalar(
            select(ServiceOrderStage)
            .where(ServiceOrderStage.order_id == order_id, ServiceOrderStage.index == index)
            .with_for_update()
        )
        assert stage is not None, f"stage {index} of order {order_id} is gone"
        return stage

    @activity.defn(name="alert_service_stage")
    async def alert_service_stage(self, alert: StageAlert) -> None:
        """Remind the stage owner before the deadline; when overdue, tell the owner's manager."""
        at = activity.info().scheduled_time
        key = f"{alert.workflow_id}:stage{alert.index}:{alert.kind}"
        async with self._sessions.begin() as session:
            stage = await self._stage(session, alert.order_id, alert.index)
            if stage.status == StageStatus.DONE:
                return
            order = await session.get(ServiceOrder, alert.order_id)
            assert order is not None
            payload = {
                "order_id": order.id,
                "number": order.number,
                "stage": stage.name,
                "index": stage.index,
                "due_at": stage.due_at.isoformat(),
                "link": f"/api/v1/service-orders/{order.id}",
            }
            owner = stage.owner_id or order.owner_id
            if alert.kind == "reminder":
                stage.reminded_at = at
                await order_event(session, order.id, key, "stage_reminder", payload, at)
                await notify_staff(session, key, "service_stage_reminder", [owner], payload)
                return
            stage.escalated_at = at
            department = await session.scalar(select(User.department_id).where(User.id == owner))
            managers = await resolve_recipients(
                session, "department_manager", assignee_id=None, department_id=department
            )
            to = [m.user_id for m in managers]
            data = {**payload, "escalated_to": to, "owner_id": owner}
            await order_event(session, order.id, key, "stage_overdue", data, at)
            await notify_staff(session, key, "service_stage_overdue", [owner, *to], data)

    @activity.defn(name="complete_service_stage")
    async def complete_service_stage(self, rec: StageCompletion) -> None:
        """Done in order; the next stage starts; the customer hears of it; the last one surveys."""
        done = rec.completion
        key = f"{rec.workflow_id}:stage{done.index}:completed"
        async with self._sessions.begin() as session:
            stage = await self._stage(session, rec.order_id, done.index)
            order = await session.get(ServiceOrder, rec.order_id, with_for_update=True)
            assert order is not None
            if stage.status != StageStatus.DONE:
                stage.status = StageStatus.DONE
                stage.completed_at, stage.completed_by = rec.at, done.actor_id
                stage.note, stage.attachment_ids = done.note, list(done.attachment_ids)
            contact = await session.scalar(
                select(CustomerContact.id).where(
                    CustomerContact.customer_id == order.customer_id, CustomerContact.is_primary
                )
            )
            data = {
                "order_id": order.id,
                "number": order.number,
                "stage": stage.name,
                "index": stage.index,
                "note": done.note,
                "attachment_ids": list(done.attachment_ids),
                "contact_id": contact,
            }
            actor = f"user:{done.actor_id}"
            await order_event(session, order.id, key, "stage_completed", data, rec.at, actor)
            notice = "service_stage_completed"
            if rec.last:
                order.status, order.completed_at, order.current_stage = (
                    OrderStatus.COMPLETED,
                    rec.at,
                    None,
                )
                data = {**data, "survey_link": survey_link(self._settings, order.id)}
                await order_event(session, order.id, f"{key}:survey", "survey_sent", data, rec.at)
                notice = "service_order_completed"
            else:
                order.current_stage = done.index + 1
                following = await self._stage(session, order.id, done.index + 1)
                if following.status == StageStatus.PENDING:
                    following.status = StageStatus.IN_PROGRESS
            await notify_staff(session, key, notice, [order.owner_id], data)
