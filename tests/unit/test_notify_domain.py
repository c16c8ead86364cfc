"""Notification rules: quiet hours, urgency, language, channels, HTTP outcomes, signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from activities.notify.render import Renderer
from domain.notify import (
    HttpOutcome,
    QuietHours,
    customer_channel,
    customer_progress,
    dingtalk_sign,
    feishu_sign,
    http_outcome,
    is_urgent,
    language,
    normalize_phone,
    quiet_until,
    signing_secrets,
    subscribed,
    template_file,
    user_channels,
    webhook_signature,
)

NIGHT_SHANGHAI = QuietHours(start=time(22), end=time(8), timezone="Asia/Shanghai")


def test_inside_overnight_window_before_midnight_waits_until_next_morning() -> None:
    now = datetime(2024, 5, 18, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    assert quiet_until(now, NIGHT_SHANGHAI) == datetime(2024, 5, 19, 0, 0, tzinfo=UTC)


def test_inside_overnight_window_after_midnight_waits_until_same_morning() -> None:
    now = datetime(2024, 5, 18, 19, 30, tzinfo=UTC)  # 03:30 on the 19th in Shanghai
    assert quiet_until(now, NIGHT_SHANGHAI) == datetime(2024, 5, 19, 0, 0, tzinfo=UTC)


def test_outside_quiet_hours_sends_now() -> None:
    now = datetime(2024, 5, 18, 4, 0, tzinfo=UTC)  # noon in Shanghai
    assert quiet_until(now, NIGHT_SHANGHAI) is None


def test_window_end_is_exclusive_and_start_inclusive() -> None:
    assert quiet_until(datetime(2024, 5, 18, 0, 0, tzinfo=UTC), NIGHT_SHANGHAI) is None
    start = datetime(2024, 5, 18, 14, 0, tzinfo=UTC)  # 22:00 sharp
    assert quiet_until(start, NIGHT_SHANGHAI) == datetime(2024, 5, 19, 0, 0, tzinfo=UTC)


def test_daytime_window_in_another_timezone() -> None:
    lunch = QuietHours(start=time(12), end=time(13, 30), timezone="Europe/Berlin")
    now = datetime(2024, 1, 10, 11, 15, tzinfo=UTC)  # 12:15 CET
    assert quiet_until(now, lunch) == datetime(2024, 1, 10, 12, 30, tzinfo=UTC)
    assert quiet_until(datetime(2024, 1, 10, 12, 45, tzinfo=UTC), lunch) is None


def test_empty_window_is_never_quiet() -> None:
    same = QuietHours(start=time(9), end=time(9), timezone="UTC")
    assert quiet_until(datetime(2024, 1, 1, 9, 0, tzinfo=UTC), same) is None


def test_window_ending_inside_a_dst_gap_ends_just_after_the_gap() -> None:
    # 2024-03-10 02:00 does not exist in New York: clocks jump from 02:00 EST to 03:00 EDT.
    quiet = QuietHours(start=time(1), end=time(2, 30), timezone="America/New_York")
    now = datetime(2024, 3, 10, 6, 30, tzinfo=UTC)  # 01:30 EST
    assert quiet_until(now, quiet) == datetime(2024, 3, 10, 7, 30, tzinfo=UTC)  # 03:30 EDT


@pytest.mark.parametrize(
    ("template", "priority", "urgent"),
    [
        ("ticket_assigned", "urgent", True),
        ("ticket_assigned", "normal", False),
        ("sla_escalated", "low", True),
        ("tracking_reminder", None, False),
    ],
)
def test_urgent_tickets_and_escalations_ignore_quiet_hours(
    template: str, priority: str | None, urgent: bool
) -> None:
    assert is_urgent(template, priority) is urgent


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("zh-CN", "zh"), ("zh_Hant_TW", "zh"), ("en-US", "en"), ("EN", "en"), ("fr-FR", "zh")],
)
def test_language_follows_locale_with_default_fallback(locale: str, expected: str) -> None:
    assert language(locale) == expected


def test_language_uses_deployment_default_when_unset() -> None:
    assert language(None, "en-GB") == "en"
    assert template_file("ticket_assigned", "en") == "ticket_assigned.en.j2"


def test_person_without_preferences_gets_inbox_and_email_when_mail_works() -> None:
    assert user_channels(["in_app"], None, {"email", "sms"}) == ["in_app", "email"]
    assert user_channels(["in_app"], None, set()) == ["in_app"]


def test_rule_channels_and_own_channels_combine_when_deliverable() -> None:
    got = user_channels(["in_app", "sms"], ["wecom", "feishu"], {"sms", "wecom"})
    assert got == ["in_app", "sms", "wecom"]


def test_customer_prefers_email_then_phone() -> None:
    both = {"email": "c@example.com", "phone": "13812345678"}
    assert customer_channel(both, {"email", "sms"}) == "email"
    assert customer_channel(both, {"sms"}) == "sms"
    assert customer_channel({"phone": "13812345678"}, {"email", "sms"}) == "sms"
    assert customer_channel({"name": "Li"}, {"email", "sms"}) is None
    assert customer_channel(None, {"email"}) is None


def test_customer_hears_status_changes_but_resolution_through_its_revisit() -> None:
    assert customer_progress("status_changed", {"to": "processing"})
    assert not customer_progress("status_changed", {"to": "resolved"})
    assert customer_progress("closed", {"reason": "closed_by_staff"})
    assert not customer_progress("commented", {})


def test_webhook_subscription_matches_named_events_or_star() -> None:
    assert subscribed(["created", "closed"], "closed")
    assert subscribed(["*"], "sla_breached")
    assert not subscribed(["created"], "closed")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, HttpOutcome.DELIVERED),
        (204, HttpOutcome.DELIVERED),
        (400, HttpOutcome.PERMANENT),
        (404, HttpOutcome.PERMANENT),
        (408, HttpOutcome.RETRY),
        (429, HttpOutcome.RETRY),
        (500, HttpOutcome.RETRY),
        (503, HttpOutcome.RETRY),
        (301, HttpOutcome.PERMANENT),
    ],
)
def test_http_answers_classify_as_delivered_retry_or_permanent(
    status: int, outcome: HttpOutcome
) -> None:
    assert http_outcome(status) is outcome


def test_phone_numbers_normalize_or_are_rejected() -> None:
    assert normalize_phone("138 1234-5678") == "13812345678"
    assert normalize_phone("+86 (138) 1234 5678") == "+8613812345678"
    assert normalize_phone("call me") is None
    assert normalize_phone("") is None


def test_webhook_signature_covers_timestamp_and_body() -> None:
    signed = hmac.new(b"Jefe", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert webhook_signature(["Jefe"], b"{}", 1_700_000_000) == f"t=1700000000,v1={signed}"


def test_rotation_signs_with_both_secrets_until_the_overlap_ends() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    until = now + timedelta(hours=1)
    assert signing_secrets("new", "old", until, now) == ["new", "old"]
    assert signing_secrets("new", "old", until, until) == ["new"]
    assert signing_secrets("new", None, None, now) == ["new"]
    header = webhook_signature(["new", "old"], b"{}", 5)
    assert [p.split("=")[0] for p in header.split(",")] == ["t", "v1", "v1"]


def test_dingtalk_sign_follows_the_robot_spec() -> None:
    secret, ts = "SEC0123456789abcdef", 1716000000000
    digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    assert dingtalk_sign(secret, ts) == base64.b64encode(digest).decode()
    assert dingtalk_sign(secret, ts + 1) != dingtalk_sign(secret, ts)


def test_feishu_sign_keys_hmac_with_timestamp_and_secret() -> None:
    secret, ts = "feishu-secret", 1716000000
    digest = hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256).digest()
    assert feishu_sign(secret, ts) == base64.b64encode(digest).decode()


TICKET = {
    "number": "FB20240518001",
    "title": "App crashes on login",
    "status": "processing",
    "priority": "urgent",
    "category": "product_quality",
}
DATA = {
    "target": "resolution",
    "due_at": "2024-05-18T10:00:00+00:00",
    "level": 2,
    "when": "breach",
    "cadence_seconds": 86400,
    "reason": "customer replied",
    "reopen_count": 1,
    "note": "please check the logs",
    "to": "awaiting_customer",
}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(
    "template",
    [
        "ticket_assigned",
        "sla_warning",
        "sla_breached",
        "sla_escalated",
        "tracking_reminder",
        "collaboration_requested",
        "ticket_reopened",
        "revisit_requested",
        "status_changed",
        "ticket_queued",
        "something_new",
    ],
)
def test_every_template_renders_number_and_link_in_both_languages(template: str, lang: str) -> None:
    message = Renderer().render(
        template, lang, ticket=TICKET, data=DATA, link="https://x.test/t", timezone="UTC"
    )
    assert TICKET["number"] in message.subject
    assert "https://x.test/t" in message.body
    assert "None" not in message.body
    assert "\n" not in message.subject


def test_templates_speak_the_recipients_language() -> None:
    renderer = Renderer()
    args: dict[str, Any] = {
        "ticket": TICKET,
        "data": DATA,
        "link": "L",
        "timezone": "Asia/Shanghai",
    }
    zh = renderer.render("sla_breached", "zh", **args)
    en = renderer.render("sla_breached", "en", **args)
    assert "解决时限已超时" in zh.subject
    assert "2024-05-18 18:00 CST" in zh.body
    assert en.subject.endswith("Resolution breached")
    customer = renderer.render("status_changed", "zh", **args)
    assert customer.subject == "您的反馈 FB20240518001 状态更新：待客户确认"
    assert customer.short.endswith("L")
