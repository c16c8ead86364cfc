"""Notification delivery: the outbox planner, the delivery activities and channel adapters."""

from activities.notify.delivery import NotifyActivities
from activities.notify.outbox import DeliveryStarter

__all__ = ["DeliveryStarter", "NotifyActivities"]
