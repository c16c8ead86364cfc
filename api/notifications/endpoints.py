"""Notification endpoints: the caller's inbox and preferences; admin webhook subscriptions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import select

from api.audit.admin_log import record_audit
from api.deps import AdminUser, CurrentUser, SessionDep, SettingsDep
from api.notifications import service
from api.notifications.delivery_endpoints import WebhookId
from api.notifications.delivery_endpoints import router as deliveries_router
from api.notifications.destinations import checked_url
from api.notifications.schemas import (
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
)
from api.pagination import CursorQuery, LimitQuery, Page, fetch_page
from core import pii
from core.errors import NotFound
from models import NotificationPreference, WebhookSubscription

router = APIRouter(tags=["notifications"])
router.include_router(deliveries_router)


@router.get("/users/me/notifications", response_model=Page[NotificationOut])
async def my_notifications(
    caller: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    unread: Annotated[bool | None, Query(description="true: unread only; false: read only")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[NotificationOut]:
    """The caller's in-app notifications, newest first."""
    return await service.inbox_page(
        session, caller, settings, unread=unread, limit=limit, cursor=cursor
    )


@router.post("/users/me/notifications/{notification_id}/read", response_model=NotificationOut)
async def mark_read(
    notification_id: int, caller: CurrentUser, session: SessionDep, settings: SettingsDep
) -> NotificationOut:
    """Mark one of the caller's notifications read."""
    return await service.mark_read(session, caller, settings, notification_id)


@router.get("/users/me/notification-preferences", response_model=PreferencesOut)
async def get_preferences(
    caller: CurrentUser, session: SessionDep, settings: SettingsDep
) -> PreferencesOut:
    """Channels, quiet hours, timezone, language and addresses (secrets never shown)."""
    prefs = await session.get(NotificationPreference, caller.user_id)
    return service.preferences_view(prefs, settings)


@router.put("/users/me/notification-preferences", response_model=PreferencesOut)
async def put_preferences(
    body: PreferencesIn, caller: CurrentUser, session: SessionDep, settings: SettingsDep
) -> PreferencesOut:
    """Replace the caller's preferences; every chosen channel needs its address."""
    prefs = await service.save_preferences(session, caller, body, settings)
    return service.preferences_view(prefs, settings)


@router.post("/webhooks", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated)
async def create_webhook(
    body: WebhookCreate, caller: AdminUser, session: SessionDep, settings: SettingsDep
) -> WebhookCreated:
    """Subscribe a URL to timeline events ("*" for all); the secret is shown only here."""
    url = checked_url(settings, "body.url", body.url)
    secret = body.secret or service.new_webhook_secret()
    sub = WebhookSubscription(
        url=url,
        secret=pii.seal(secret),
        events=list(dict.fromkeys(body.events)),
        active=body.active,
        created_by=caller.user_id,
    )
    session.add(sub)
    await session.flush()
    data = {"events": sub.events}  # the URL may carry an access token: not logged
    await record_audit(session, caller, "webhook.create", "webhook", sub.id, data)
    await session.commit()
    return WebhookCreated(**WebhookOut.model_validate(sub).model_dump(), secret=secret)


@router.get("/webhooks", response_model=Page[WebhookOut])
async def list_webhooks(
    _: AdminUser, session: SessionDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[WebhookOut]:
    """Every subscription, active or not."""
    rows, next_cursor = await fetch_page(
        session, select(WebhookSubscription), WebhookSubscription.id, limit, cursor
    )
    return Page(items=[WebhookOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def deactivate_webhook(
    webhook_id: WebhookId, caller: AdminUser, session: SessionDep
) -> Response:
    """Stop a subscription: nothing new is queued; pending deliveries are skipped."""
    sub = await session.get(WebhookSubscription, webhook_id)
    if sub is None:
        raise NotFound(f"webhook {webhook_id} not found")
    sub.active = False
    await record_audit(session, caller, "webhook.deactivate", "webhook", webhook_id)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
