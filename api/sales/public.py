"""Public pages of the customer: a quote to answer once, a service survey (rate-limited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy import select

from api.deps import SessionDep, SettingsDep, TemporalDep
from api.intake.public import _limit_token, public_guard
from api.sales.quote_schemas import PublicQuoteOut, RespondIn
from api.sales.survey_schemas import SurveyIn, SurveyOut
from models import Customer, Quote
from services.sales import quote_actions as actions
from services.sales import quotes as service
from services.sales import surveys

router = APIRouter(prefix="/public", tags=["public"], dependencies=[Depends(public_guard)])
Token = Annotated[str, Path(min_length=1, max_length=100)]


async def _public_quote(session: SessionDep, quote: Quote) -> dict[str, Any]:
    name = await session.scalar(select(Customer.name).where(Customer.id == quote.customer_id))
    view = service.quote_view(quote, await service.lines_of(session, quote.id))
    return {
        **{k: view[k] for k in PublicQuoteOut.model_fields if k in view},
        "customer_name": name or "",
        "answered": quote.response is not None,
    }


@router.get("/quotes/{token}", response_model=PublicQuoteOut)
async def public_quote(
    token: Token, request: Request, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    _limit_token(request, settings, token)
    quote = await actions.quote_for_token(session, settings, token)
    return await _public_quote(session, quote)


@router.post("/quotes/{token}/respond", response_model=PublicQuoteOut)
async def respond(
    token: Token,
    body: RespondIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
) -> dict[str, Any]:
    """accept | negotiate | decline, once: a second answer is 409."""
    _limit_token(request, settings, token)
    quote = await actions.quote_for_token(session, settings, token)
    await actions.respond_to_quote(client, settings, quote, body.response, body.comment)
    await session.refresh(quote)
    return await _public_quote(session, quote)


@router.get("/surveys/{token}", response_model=SurveyOut)
async def survey_page(
    token: Token, request: Request, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    _limit_token(request, settings, token)
    order = await surveys.order_for_token(session, settings, token)
    return await surveys.survey_view(session, order)


@router.post("/surveys/{token}", response_model=SurveyOut)
async def submit_survey(
    token: Token,
    body: SurveyIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
) -> dict[str, Any]:
    """Scores 1–5; any score ≤ 2 opens one feedback ticket (a retried submission too)."""
    _limit_token(request, settings, token)
    order = await surveys.order_for_token(session, settings, token)
    await surveys.record_survey(session, client, settings, order, body)
    await session.refresh(order)
    return await surveys.survey_view(session, order)
