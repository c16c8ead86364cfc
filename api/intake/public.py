"""Public intake endpoints (no auth, rate-limited) and the embeddable feedback page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from api.attachments.owners import storage
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.followups.service import mark_pushes_opened
from api.intake import service
from api.intake.embed import embed_page
from api.intake.feedback_form import FeedbackForm, feedback_form, is_multipart, openapi_body
from api.intake.ratelimit import SlidingWindowLimiter
from api.intake.schemas import (
    FeedbackCreated,
    PublicCategory,
    PublicCommentIn,
    PublicStatus,
    PublicSurveyIn,
)
from api.intake.screenshots import attach_screenshots, check_screenshots, public_form_limit
from api.tickets import service as tickets
from core.errors import NotFound, PayloadTooLarge
from core.settings import Settings
from core.tokens import hash_token, push_for_token, status_url, ticket_for_token
from domain.custom_fields import Entity
from domain.tickets import Channel
from models import Category, Ticket
from services.custom_fields import service as custom_fields
from workflows.ticket_types import CommentInput, Contact, SurveyInput

router = APIRouter(prefix="/public", tags=["public"])
embed_router = APIRouter(tags=["public"])


def _limiter(request: Request) -> SlidingWindowLimiter:
    state = request.app.state
    if getattr(state, "public_limiter", None) is None:
        state.public_limiter = SlidingWindowLimiter()
    limiter: SlidingWindowLimiter = state.public_limiter
    return limiter


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def public_guard(request: Request, settings: SettingsDep) -> None:
    """Per-IP rate limit and a small body cap on every public request."""
    window = settings.public_rate_window_seconds
    _limiter(request).hit(f"ip:{_client_ip(request)}", settings.public_rate_per_ip, window)
    declared = request.headers.get("content-length", "")
    size = int(declared) if declared.isdigit() else len(await request.body())
    # Screenshots make the form's multipart body larger; each image has its own limit too.
    limit = public_form_limit(settings) if is_multipart(request) else settings.public_max_body_bytes
    if size > limit:
        raise PayloadTooLarge(f"request body exceeds {limit} bytes")


def _limit_token(request: Request, settings: Settings, token: str) -> None:
    key = f"token:{hash_token(token)}"
    _limiter(request).hit(key, settings.public_rate_per_token, settings.public_rate_window_seconds)


async def _ticket(request: Request, session: SessionDep, settings: Settings, token: str) -> Ticket:
    _limit_token(request, settings, token)
    ticket = await ticket_for_token(session, token)
    if ticket is None:
        raise NotFound("unknown or expired status link")
    return ticket


Guard = Depends(public_guard)
IdempotencyKeyHeader = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=255, min_length=1)
]


@router.get("/categories", response_model=list[PublicCategory], dependencies=[Guard])
async def public_categories(session: SessionDep) -> list[Category]:
    """Active categories, for the form's choice list."""
    rows = await session.scalars(select(Category).where(Category.active).order_by(Category.id))
    return list(rows)


@router.post(
    "/feedback",
    status_code=status.HTTP_201_CREATED,
    response_model=FeedbackCreated,
    dependencies=[Guard],
    openapi_extra=openapi_body(),
)
async def submit_feedback(
    form: Annotated[FeedbackForm, Depends(feedback_form)],
    request: Request,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> FeedbackCreated:
    """Anonymous feedback → a web_form ticket, auto-dispatched; answers the status token.

    Multipart bodies carry the same JSON in `feedback` and up to 3 screenshots in `images`.
    """
    body = form.body
    window = settings.public_rate_window_seconds
    ip_key = f"create:{_client_ip(request)}"
    _limiter(request).hit(ip_key, settings.public_rate_create_per_ip, window)
    if body.website:
        # A bot filled the honeypot: look successful, create nothing.
        fake = service.decoy(settings.timezone)
        return FeedbackCreated(
            number=fake.number,
            status_token=fake.token,
            status_url=status_url(settings.public_base_url, fake.token),
        )
    category = await service.active_category(session, body.category, "body.category")
    custom = await custom_fields.checked_values(
        session, Entity.TICKET, body.custom_fields, category.code, only_public=True
    )
    screenshots = await check_screenshots(settings, form.images)
    contact = Contact.model_validate(body.contact.model_dump()) if body.contact else None
    submitted = await service.submit(
        session,
        client,
        settings,
        category=category,
        description=body.description,
        channel=Channel.WEB_FORM,
        contact=contact,
        order_no=body.order_no,
        idempotency_key=idempotency_key,
        fingerprint=tickets.request_fingerprint(body),
        custom_fields=custom,
    )
    await attach_screenshots(session, storage(request), settings, submitted.ticket_id, screenshots)
    return FeedbackCreated(
        number=submitted.number,
        status_token=submitted.token,
        status_url=status_url(settings.public_base_url, submitted.token),
    )


@router.get("/feedback/{token}", response_model=PublicStatus, dependencies=[Guard])
async def feedback_status(
    token: str, request: Request, session: SessionDep, settings: SettingsDep
) -> PublicStatus:
    """Status and public timeline: public comments and status changes, never internal notes."""
    ticket = await _ticket(request, session, settings, token)
    return await service.public_status(session, ticket)


@router.post("/feedback/{token}/survey", response_model=PublicStatus, dependencies=[Guard])
async def feedback_survey(
    token: str,
    body: PublicSurveyIn,
    request: Request,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> PublicStatus:
    """The revisit answer: satisfied closes the ticket, unsatisfied reopens it (409 if not open)."""
    ticket = await _ticket(request, session, settings, token)
    arg = SurveyInput(actor=service.CUSTOMER, rating=body.rating, comment=body.comment)
    await tickets.run_update(client, settings, ticket, "survey", arg, None)
    await session.refresh(ticket)
    return await service.public_status(session, ticket)


@router.post("/feedback/{token}/comments", response_model=PublicStatus, dependencies=[Guard])
async def feedback_comment(
    token: str,
    body: PublicCommentIn,
    request: Request,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> PublicStatus:
    """A customer reply; it resumes a ticket awaiting the customer."""
    ticket = await _ticket(request, session, settings, token)
    arg = CommentInput(actor=service.CUSTOMER, body=body.body, public=True, by_customer=True)
    await tickets.run_update(client, settings, ticket, "comment", arg, None)
    await session.refresh(ticket)
    return await service.public_status(session, ticket)


PUSH_OPENED_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>谢谢 · Thank you</title>
</head><body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem">
<h1>谢谢！</h1><p>您的客户经理会尽快与您联系。</p>
<p lang="en">Thank you! Your account manager will be in touch soon.</p>
</body></html>
"""


@router.get("/pushes/{token}", include_in_schema=False, dependencies=[Guard])
async def push_opened(
    token: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """The tracked link of a plan's push: the customer engaged, so paused channels resume."""
    _limit_token(request, settings, token)
    push_id = push_for_token(settings.secret_key.get_secret_value().encode(), token)
    if push_id is None:
        raise NotFound("unknown link")
    await mark_pushes_opened(session, [push_id])
    await session.commit()
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(PUSH_OPENED_PAGE, headers=headers)


@embed_router.get("/embed/feedback", include_in_schema=False)
async def embed_feedback(settings: SettingsDep) -> Response:
    """The embeddable form and status page: one self-contained HTML document."""
    return embed_page(settings.public_allowed_origins)
