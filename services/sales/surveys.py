"""The satisfaction survey after a service order: one answer; low scores open one ticket."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.tickets.service import reserve_number, start_ticket
from core.errors import Conflict, NotFound
from core.settings import Settings
from domain.sales.links import token_id
from domain.sales.service_orders import SURVEY_DIMENSIONS, OrderStatus, low_scores
from domain.sla import Priority
from domain.tickets import Channel
from models import ServiceOrder, SurveyResponse
from workflows.ticket_types import NewTicket

DIMENSION_LABELS = {"quality": "质量", "response_speed": "响应速度", "professionalism": "专业度"}


async def order_for_token(session: AsyncSession, settings: Settings, token: str) -> ServiceOrder:
    secret = settings.secret_key.get_secret_value().encode()
    order_id = token_id(secret, "survey", token)
    order = await session.get(ServiceOrder, order_id) if order_id is not None else None
    if order is None or order.status != OrderStatus.COMPLETED:
        raise NotFound("unknown or expired survey link")
    return order


async def _answer(session: AsyncSession, order_id: int) -> SurveyResponse | None:
    return await session.scalar(
        select(SurveyResponse)
        .where(SurveyResponse.order_id == order_id)
        .execution_options(populate_existing=True)
    )


async def survey_view(session: AsyncSession, order: ServiceOrder) -> dict[str, Any]:
    answer = await _answer(session, order.id)
    return {
        "order_no": order.number,
        "title": order.title,
        "answered": answer is not None,
        "scores": {d: getattr(answer, d) for d in SURVEY_DIMENSIONS} if answer else None,
        "comment": answer.comment if answer else None,
        "ticket_number": answer.ticket_number if answer else None,
    }


async def record_survey(
    session: AsyncSession, client: Client, settings: Settings, order: ServiceOrder, body: Any
) -> None:
    """Store the one answer; a retry of the same answer is accepted and finishes its ticket."""
    scores = body.scores.model_dump()
    order_id, order_no, customer_id = order.id, order.number, order.customer_id
    inserted = await session.scalar(
        insert(SurveyResponse)
        .values(order_id=order_id, comment=body.comment, **scores)
        .on_conflict_do_nothing(index_elements=[SurveyResponse.order_id])
        .returning(SurveyResponse.id)
    )
    await session.commit()
    answer = await _answer(session, order_id)
    assert answer is not None
    same = {d: getattr(answer, d) for d in SURVEY_DIMENSIONS} == scores
    if inserted is None and not (same and answer.comment == body.comment):
        raise Conflict("this survey has already been answered", code="already_answered")
    low = low_scores(scores)
    if not low or answer.ticket_number is not None:
        return
    # One number per order: a retried or concurrent submission starts the same ticket.
    number = await reserve_number(session, settings, "survey", str(order_id), "survey")
    lines = [f"{DIMENSION_LABELS[d]}：{scores[d]} 分" for d in SURVEY_DIMENSIONS]
    new = NewTicket(
        number=number,
        title=f"服务满意度低分：{order_no}",
        description="\n".join([*lines, f"客户意见：{body.comment or '（无）'}"]),
        category=settings.survey_ticket_category,
        priority=Priority.NORMAL,
        channel=Channel.WEB_FORM,
        customer_id=customer_id,
        order_no=order_no,
        actor="customer",
    )
    await start_ticket(client, settings, new)
    await session.execute(
        update(SurveyResponse)
        .where(SurveyResponse.order_id == order_id)
        .values(ticket_number=number)
    )
    await session.commit()
