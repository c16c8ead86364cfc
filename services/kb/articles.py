"""Articles: who sees and edits what, ranked search, cases archived from tickets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from api.deps import Principal
from core.errors import Conflict, Forbidden, NotFound
from models import KbArticle, Ticket, TicketEvent
from services.kb.text import query_text, render_markdown, token_text

EDITOR_ROLES = frozenset({"manager", "admin"})
CLOSED_TICKET = frozenset({"resolved", "closed"})


def is_editor(principal: Principal) -> bool:
    return principal.role in EDITOR_ROLES


def visible(principal: Principal) -> ColumnElement[bool] | None:
    """Editors see drafts too; agents see published articles only."""
    return None if is_editor(principal) else KbArticle.status == "published"


def _scoped(query: Select[Any], principal: Principal) -> Select[Any]:
    condition = visible(principal)
    return query if condition is None else query.where(condition)


def apply(article: KbArticle, fields: dict[str, Any]) -> None:
    """Set fields and re-derive the search tokens of the title and body."""
    for name, value in fields.items():
        setattr(article, name, value)
    article.title_tokens = token_text(article.title)
    article.body_tokens = token_text(article.body)


def check_status(principal: Principal, status: str | None) -> None:
    if status == "published" and not is_editor(principal):
        raise Forbidden("only managers and admins publish articles")


async def get_article(session: AsyncSession, principal: Principal, article_id: int) -> KbArticle:
    query = _scoped(select(KbArticle).where(KbArticle.id == article_id), principal)
    article: KbArticle | None = await session.scalar(query)
    if article is None:
        raise NotFound(f"article {article_id} not found")
    return article


async def search(
    session: AsyncSession, principal: Principal, q: str, limit: int = 20
) -> list[tuple[KbArticle, float]]:
    """Articles matching any query token, best first (title weighs more than body)."""
    text = query_text(q)
    if not text:
        return []
    tsquery = func.websearch_to_tsquery("simple", text)
    rank = func.ts_rank(KbArticle.search_vector, tsquery)
    query = (
        select(KbArticle, rank.label("rank"))
        .where(KbArticle.search_vector.bool_op("@@")(tsquery))
        .order_by(rank.desc(), KbArticle.id.desc())
        .limit(limit)
    )
    rows = await session.execute(_scoped(query, principal))
    return [(article, float(score)) for article, score in rows]


async def suggestions(
    session: AsyncSession, principal: Principal, ticket: Ticket, limit: int = 5
) -> list[tuple[KbArticle, float]]:
    """Published articles for a ticket from its title and description."""
    agent_view = Principal(principal.user_id, "agent", principal.department_id)
    return await search(session, agent_view, f"{ticket.title} {ticket.description}", limit)


async def case_body(session: AsyncSession, ticket: Ticket) -> str:
    """A case in Markdown: the problem, then each note and public reply in order."""
    events = await session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id)
        .where(TicketEvent.type.in_(("commented", "status_changed")))
        .order_by(TicketEvent.seq)
    )
    steps = []
    for event in events:
        data = event.data
        if event.type == "commented" and data.get("public"):
            steps.append(f"- {data.get('body', '')}")
        elif event.type == "status_changed" and data.get("note"):
            steps.append(f"- （{data.get('to', '')}）{data['note']}")
    lines = [f"## 问题\n\n{ticket.description}", "## 处理过程", *(steps or ["- （无记录）"])]
    return "\n\n".join(lines)


async def archive_ticket(
    session: AsyncSession, principal: Principal, ticket: Ticket
) -> tuple[KbArticle, bool]:
    """A draft case from a resolved ticket; the same article when asked again."""
    if ticket.status not in CLOSED_TICKET:
        raise Conflict(
            f"ticket {ticket.number} is {ticket.status}; only a resolved ticket becomes a case",
            code="transition_not_allowed",
        )
    existing = await session.scalar(
        select(KbArticle).where(KbArticle.source_ticket_id == ticket.id)
    )
    if existing is not None:
        return existing, False
    article = KbArticle(
        status="draft",
        tags=[],
        category=ticket.category,
        source_ticket_id=ticket.id,
        created_by=principal.user_id,
    )
    apply(article, {"title": ticket.title, "body": await case_body(session, ticket)})
    session.add(article)
    await session.commit()
    return article, True


def article_view(article: KbArticle, score: float | None = None) -> dict[str, Any]:
    view = {
        "id": article.id,
        "title": article.title,
        "body": article.body,
        "html": render_markdown(article.body),
        "tags": article.tags,
        "category": article.category,
        "status": article.status,
        "source_ticket_id": article.source_ticket_id,
        "created_by": article.created_by,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
    }
    if score is not None:
        view["score"] = round(score, 6)
    return view


def touch(article: KbArticle) -> None:
    article.updated_at = datetime.now(UTC)
