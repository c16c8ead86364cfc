"""Every notice template renders in both languages without leaking `None` or template syntax."""

from __future__ import annotations

import pytest

from activities.notify.render import Renderer
from domain.notify import LANGUAGES, TEMPLATES

TICKET = {
    "number": "FB20261123001",
    "title": "充电器发热",
    "status": "processing",
    "priority": "urgent",
    "category": "product_quality",
}
DATA = {
    "to": "processing",
    "target": "resolution",
    "due_at": "2026-11-23T08:00:00+00:00",
    "level": 1,
    "customer_code": "CUS20261123001",
    "code": "CUS20261123001",
    "reason": "duplicate of an existing customer",
    "count": 5,
    "day": "2026-11-23",
    "link": "/api/v1/customers?approval=pending",
    "birthday": "2026-12-01",
    "idle_since": "2026-05-20T01:00:00+00:00",
    "idle_days": 180,
    "tag": "ERP",
    "product": "v9",
}
CUSTOMER = {"name": "示例科技有限公司", "contact": "李雷"}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("template", TEMPLATES)
def test_template_renders(template: str, lang: str) -> None:
    customer_facing = template.startswith("push_")
    message = Renderer().render(
        template,
        lang,
        ticket={} if customer_facing else TICKET,
        customer=CUSTOMER if customer_facing else None,
        data=DATA,
        link="https://help.example.com/x",
        timezone="Asia/Shanghai",
    )
    for text in (message.subject, message.body, message.short):
        assert text.strip()
        assert "None" not in text
        assert "{{" not in text
        assert "{%" not in text


def test_staff_notices_about_customers_do_not_pretend_to_be_about_a_ticket() -> None:
    message = Renderer().render(
        "customer_approval_reminder",
        "zh",
        ticket={"number": None},
        data={"count": 3, "day": "2026-11-23", "link": "/api/v1/customers?approval=pending"},
        link="",
        timezone="Asia/Shanghai",
    )
    assert message.subject == "3 个客户等待您审批"
