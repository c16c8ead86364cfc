"""Every text the console templates translate has a Chinese entry; badges rank at-risk first."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from api.tickets.schemas import SlaOut, TargetOut, TicketOut
from console.badges import at_risk_first, badge
from console.i18n import translations

TEMPLATES = Path(__file__).resolve().parents[2] / "console" / "templates"
LITERAL = re.compile(r'_\("([^"]+)"\)')


def test_every_template_message_has_a_chinese_translation() -> None:
    zh = translations("zh")
    messages = {m for f in TEMPLATES.glob("*.html") for m in LITERAL.findall(f.read_text())}
    assert len(messages) > 20
    missing = sorted(m for m in messages if zh.gettext(m) == m and m != "SLA")
    assert missing == []


def test_unknown_language_falls_back_to_chinese() -> None:
    assert translations("fr").gettext("Tickets") == "工单"
    assert translations("en").gettext("Tickets") == "Tickets"


def _ticket(number: str, remaining: int, *, paused: bool = False) -> TicketOut:
    created = datetime(2026, 1, 5, 9, tzinfo=UTC)
    due = created + timedelta(hours=2)
    target = TargetOut(due_at=due, met_at=None, breached=remaining < 0, remaining_seconds=remaining)
    resolution = TargetOut(due_at=None, met_at=None, breached=False, remaining_seconds=86_400)
    sla = SlaOut(
        policy_id=1, policy_version=1, first_response=target, resolution=resolution, paused=paused
    )
    return TicketOut.model_construct(number=number, created_at=created, sla=sla)


def test_badges_show_warning_in_the_last_quarter_and_sort_at_risk_first() -> None:
    rows = [
        (t, badge(t))
        for t in (
            _ticket("ok", 5_000),
            _ticket("paused", 100, paused=True),
            _ticket("warning", 1_000),
            _ticket("breached", -60),
        )
    ]
    assert {t.number: b.state for t, b in rows} == {
        "ok": "ok",
        "paused": "paused",
        "warning": "warning",
        "breached": "breached",
    }
    assert [t.number for t, _ in at_risk_first(rows)] == ["breached", "warning", "ok", "paused"]
