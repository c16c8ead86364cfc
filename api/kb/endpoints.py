"""Articles (editors see drafts, agents published), search, ticket cases and suggestions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.deps import CurrentUser, SessionDep
from api.kb.schemas import ArticleIn, ArticleList, ArticleOut, ArticlePatch
from api.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor
from api.sales.common import IdempotencyKeyHeader
from api.tickets.service import get_ticket, request_fingerprint
from core.errors import Conflict, Forbidden
from models import KbArticle
from services.kb import articles as service
from services.sales.records import remember, replayed

router = APIRouter(prefix="/kb", tags=["knowledge base"])
tickets_router = APIRouter(prefix="/tickets", tags=["knowledge base"])
ArticleId = Annotated[int, Path(ge=1, lt=2**63)]
TicketRef = Annotated[str, Path(min_length=1, max_length=40)]


@router.post("/articles", status_code=status.HTTP_201_CREATED, response_model=ArticleOut)
async def create_article(
    body: ArticleIn,
    caller: CurrentUser,
    session: SessionDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    """Anyone drafts; managers and admins publish."""
    service.check_status(caller, body.status)
    scope, fingerprint = f"kb-article:{caller.user_id}", request_fingerprint(body)
    seen = await replayed(session, scope, idempotency_key, fingerprint)
    if seen is not None:
        return service.article_view(await service.get_article(session, caller, int(seen)))
    article = KbArticle(created_by=caller.user_id)
    service.apply(article, body.model_dump())
    session.add(article)
    try:
        await session.flush()
        await remember(session, scope, idempotency_key, fingerprint, str(article.id))
        await session.commit()
    except IntegrityError as exc:
        raise Conflict("that ticket already has an article", code="duplicate") from exc
    return service.article_view(article)


@router.get("/articles", response_model=ArticleList)
async def list_articles(
    caller: CurrentUser,
    session: SessionDep,
    status_: Annotated[str | None, Query(alias="status", max_length=16)] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    query = select(KbArticle).order_by(KbArticle.id)
    condition = service.visible(caller)
    if condition is not None:
        query = query.where(condition)
    if status_:
        query = query.where(KbArticle.status == status_)
    if category:
        query = query.where(KbArticle.category == category)
    if tag:
        query = query.where(KbArticle.tags.contains([tag]))
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(KbArticle.id > after)
    found = list(await session.scalars(query.limit(limit + 1)))
    more = len(found) > limit
    return {
        "items": [service.article_view(a) for a in found[:limit]],
        "next_cursor": encode_cursor(found[limit - 1].id) if more else None,
    }


@router.get("/articles/{article_id}", response_model=ArticleOut)
async def get_article(article_id: ArticleId, caller: CurrentUser, session: SessionDep) -> Any:
    return service.article_view(await service.get_article(session, caller, article_id))


@router.patch("/articles/{article_id}", response_model=ArticleOut)
async def patch_article(
    article_id: ArticleId, body: ArticlePatch, caller: CurrentUser, session: SessionDep
) -> Any:
    """Editors change any article; an agent only their own draft."""
    article = await service.get_article(session, caller, article_id)
    if not service.is_editor(caller) and article.created_by != caller.user_id:
        raise Forbidden("only managers, admins and the author change an article")
    fields = body.model_dump(exclude_unset=True)
    service.check_status(caller, fields.get("status"))
    service.apply(article, fields)
    service.touch(article)
    await session.commit()
    await session.refresh(article)
    return service.article_view(article)


@router.get("/search", response_model=ArticleList)
async def search(
    caller: CurrentUser,
    session: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    limit: LimitQuery = 20,
) -> dict[str, Any]:
    """Chinese and English full-text search, best match first."""
    found = await service.search(session, caller, q, limit)
    return {"items": [service.article_view(a, score) for a, score in found]}


@tickets_router.post("/{ref}/kb-article", response_model=ArticleOut, status_code=201)
async def archive_ticket(
    ref: TicketRef, caller: CurrentUser, session: SessionDep, response: Response
) -> Any:
    """Archive a resolved ticket as a draft case (the same article when asked again: 200)."""
    ticket = await get_ticket(session, caller, ref)
    article, created = await service.archive_ticket(session, caller, ticket)
    if not created:
        response.status_code = status.HTTP_200_OK
    return service.article_view(article)


@tickets_router.get("/{ref}/suggested-articles", response_model=ArticleList)
async def suggested_articles(ref: TicketRef, caller: CurrentUser, session: SessionDep) -> Any:
    ticket = await get_ticket(session, caller, ref)
    found = await service.suggestions(session, caller, ticket)
    return {"items": [service.article_view(a, score) for a, score in found]}
