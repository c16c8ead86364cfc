"""Tracked push links and when a plan's push may be delivered."""

from __future__ import annotations

from datetime import time

from activities.notify.outbox import delivery_input
from core.tokens import push_for_token, push_token, push_url
from domain.notify import QuietHours
from models import Notification

SECRET = b"s" * 32
NIGHT = QuietHours(start=time(21, 0), end=time(9, 0), timezone="Asia/Shanghai")


def test_a_push_link_names_its_push_and_nothing_else() -> None:
    token = push_token(SECRET, 42)
    assert push_for_token(SECRET, token) == 42
    assert push_url("https://help.example.com/", token).startswith(
        "https://help.example.com/api/v1/public/pushes/42."
    )
    mac = token.partition(".")[2]
    assert push_for_token(SECRET, f"43.{mac}") is None
    assert push_for_token(b"t" * 32, token) is None
    for forged in ("", "42", "42.", "x.y", f"{'9' * 30}.{mac}", token + "A" * 100):
        assert push_for_token(SECRET, forged) is None


def test_plan_pushes_wait_out_the_night_and_are_never_urgent() -> None:
    push = Notification(id=7, recipient="customer:3", template="product_upgrade")
    assert delivery_input(push, "urgent", None, NIGHT).model_dump() == {
        "notification_id": 7,
        "urgent": False,
        "quiet": NIGHT.model_dump(),
    }
    assert delivery_input(push, None, None, None).quiet is None
    # Ticket notices to a ticket's customer keep their own rules.
    status = Notification(id=8, recipient="customer", template="status_changed")
    assert delivery_input(status, "normal", None, NIGHT).quiet is None
