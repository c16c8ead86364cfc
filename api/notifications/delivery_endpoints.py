"""Deliveries admins and owners can see and redo: webhooks and the caller's robot channels."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, status

from api.audit.admin_log import record_audit
from api.deps import AdminUser, CurrentUser, SessionDep, SettingsDep, TemporalDep
from api.notifications import deliveries, service
from api.notifications.deliveries import Target
from api.notifications.delivery_schemas import (
    ChannelState,
    DeliveryList,
    DeliveryOut,
    IdempotencyHeader,
    RobotChannel,
    RotateSecret,
    SecretRotated,
)
from api.pagination import CursorQuery, LimitQuery
from api.schema_rules import ID_MAX, INT4_MAX
from core.errors import NotFound
from models import WebhookSubscription

router = APIRouter(tags=["deliveries"])
WebhookId = Annotated[int, Path(ge=1, le=INT4_MAX)]
DeliveryId = Annotated[int, Path(ge=1, le=ID_MAX)]
UserId = Annotated[int, Path(ge=1, le=INT4_MAX)]
HOOK = "/webhooks/{webhook_id}"
MINE = "/users/me/notification-channels/{channel}"


async def _webhook(session: SessionDep, webhook_id: int) -> WebhookSubscription:
    sub = await session.get(WebhookSubscription, webhook_id)
    if sub is None:
        raise NotFound(f"webhook {webhook_id} not found")
    return sub


def _hook(webhook_id: int) -> Target:
    return Target("webhook", webhook_id=webhook_id)


@router.get(f"{HOOK}/deliveries", response_model=DeliveryList)
async def webhook_deliveries(
    webhook_id: WebhookId,
    _: AdminUser,
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> DeliveryList:
    """The subscription's deliveries, newest first: status, attempts, last answer and error."""
    await _webhook(session, webhook_id)
    return await deliveries.list_deliveries(session, _hook(webhook_id), limit, cursor)


@router.post(
    f"{HOOK}/deliveries/{{delivery_id}}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
)
async def redeliver_webhook(
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    caller: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    idempotency_key: IdempotencyHeader = None,
) -> DeliveryOut:
    """Send a delivery's event again, as a new delivery (409 while it is still in progress)."""
    await _webhook(session, webhook_id)
    target = _hook(webhook_id)
    await record_audit(session, caller, "webhook.redeliver", "webhook", webhook_id)
    return await deliveries.redeliver(
        session, temporal, settings, target, delivery_id, idempotency_key
    )


@router.post(f"{HOOK}/test", status_code=status.HTTP_202_ACCEPTED, response_model=DeliveryOut)
async def send_webhook_test(
    webhook_id: WebhookId,
    caller: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    idempotency_key: IdempotencyHeader = None,
) -> DeliveryOut:
    """Send a signed `ping`; it goes through a parked webhook and, delivered, resumes it."""
    await _webhook(session, webhook_id)
    await record_audit(session, caller, "webhook.test", "webhook", webhook_id)
    return await deliveries.test_send(
        session, temporal, settings, _hook(webhook_id), idempotency_key
    )


@router.get(f"{HOOK}/state", response_model=ChannelState)
async def webhook_state(webhook_id: WebhookId, _: AdminUser, session: SessionDep) -> ChannelState:
    """The circuit breaker: consecutive failures and whether deliveries are parked."""
    await _webhook(session, webhook_id)
    return await deliveries.channel_state(session, _hook(webhook_id))


@router.post(f"{HOOK}/resume", response_model=ChannelState)
async def resume_webhook(
    webhook_id: WebhookId, caller: AdminUser, session: SessionDep
) -> ChannelState:
    """Un-park a webhook: new events are delivered again."""
    await _webhook(session, webhook_id)
    await record_audit(session, caller, "webhook.resume", "webhook", webhook_id)
    return await deliveries.resume(session, _hook(webhook_id))


@router.post(f"{HOOK}/rotate-secret", response_model=SecretRotated)
async def rotate_webhook_secret(
    webhook_id: WebhookId, body: RotateSecret, caller: AdminUser, session: SessionDep
) -> SecretRotated:
    """A new signing secret, shown once; the old one keeps signing for `overlap`."""
    sub = await _webhook(session, webhook_id)
    secret = body.secret or service.new_webhook_secret()
    await record_audit(session, caller, "webhook.rotate_secret", "webhook", webhook_id)
    until = await deliveries.rotate_secret(session, sub, secret, datetime.now(UTC) + body.overlap)
    return SecretRotated(id=webhook_id, secret=secret, previous_secret_until=until)


def _mine(caller: CurrentUser, channel: RobotChannel) -> Target:
    return Target(channel, user_id=caller.user_id)


@router.get(f"{MINE}/deliveries", response_model=DeliveryList)
async def my_channel_deliveries(
    channel: RobotChannel,
    caller: CurrentUser,
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> DeliveryList:
    """Deliveries to the caller's own WeCom, DingTalk or Feishu robot, newest first."""
    return await deliveries.list_deliveries(session, _mine(caller, channel), limit, cursor)


@router.post(
    f"{MINE}/deliveries/{{delivery_id}}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
)
async def redeliver_mine(
    channel: RobotChannel,
    delivery_id: DeliveryId,
    caller: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    idempotency_key: IdempotencyHeader = None,
) -> DeliveryOut:
    """Send one of the caller's robot deliveries again."""
    target = _mine(caller, channel)
    return await deliveries.redeliver(
        session, temporal, settings, target, delivery_id, idempotency_key
    )


@router.post(f"{MINE}/test", status_code=status.HTTP_202_ACCEPTED, response_model=DeliveryOut)
async def send_my_channel_test(
    channel: RobotChannel,
    caller: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    idempotency_key: IdempotencyHeader = None,
) -> DeliveryOut:
    """A test message to the caller's robot; delivered, it resumes a parked channel."""
    target = _mine(caller, channel)
    return await deliveries.test_send(session, temporal, settings, target, idempotency_key)


@router.get(f"{MINE}/state", response_model=ChannelState)
async def my_channel_state(
    channel: RobotChannel, caller: CurrentUser, session: SessionDep
) -> ChannelState:
    """The caller's robot channel breaker: consecutive failures, parked or not."""
    return await deliveries.channel_state(session, _mine(caller, channel))


@router.post("/users/{user_id}/notification-channels/{channel}/resume", response_model=ChannelState)
async def resume_robot(
    user_id: UserId, channel: RobotChannel, caller: AdminUser, session: SessionDep
) -> ChannelState:
    """Un-park a person's robot channel (admins)."""
    await record_audit(session, caller, "notify_channel.resume", "user", user_id)
    return await deliveries.resume(session, Target(channel, user_id=user_id))
