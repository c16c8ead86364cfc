"""Notification texts from the jinja2 templates, in the recipient's language and timezone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, Template

from domain.notify import TEMPLATES, template_file

TEMPLATES_DIR = Path(__file__).parent / "templates"

LABELS: dict[str, dict[str, dict[str, str]]] = {
    "zh": {
        "status": {
            "pending": "待处理",
            "processing": "处理中",
            "awaiting_customer": "待客户确认",
            "resolved": "已解决",
            "closed": "已关闭",
        },
        "priority": {"urgent": "紧急", "normal": "普通", "low": "低优"},
        "target": {"first_response": "首次响应", "resolution": "解决时限"},
    },
    "en": {
        "status": {
            "pending": "Pending",
            "processing": "Processing",
            "awaiting_customer": "Awaiting your confirmation",
            "resolved": "Resolved",
            "closed": "Closed",
        },
        "priority": {"urgent": "Urgent", "normal": "Normal", "low": "Low"},
        "target": {"first_response": "First response", "resolution": "Resolution"},
    },
}


@dataclass(frozen=True)
class Message:
    """Subject and body for mail and robots; `short` is the one-liner for SMS."""

    subject: str
    body: str
    short: str


class Renderer:
    """Loads the templates once; rendering is pure and thread-safe."""

    def __init__(self) -> None:
        self._env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=False,  # plain text: mail, SMS, robot markdown
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(
        self,
        template: str,
        lang: str,
        *,
        ticket: Mapping[str, Any],
        data: Mapping[str, Any],
        link: str,
        timezone: str,
        customer: Mapping[str, Any] | None = None,
    ) -> Message:
        """Render `template` (or the generic one for an unknown name) in `lang`."""
        name = template if template in TEMPLATES else "generic"
        tmpl = self._env.get_template(template_file(name, lang))
        tz = ZoneInfo(timezone)
        context = {
            "template": template,
            "ticket": ticket,
            "customer": customer or {},
            "data": data,
            "link": link,
            "labels": LABELS[lang],
            "when": lambda value: _local_time(value, tz),
        }
        subject = " ".join(_block(tmpl, "subject", context).split())
        body = _block(tmpl, "body", context)
        short = " ".join(_block(tmpl, "short", context).split())
        if not short:
            short = f"{subject} {link}".strip()
        return Message(subject=subject, body=body + "\n", short=short)


def _block(tmpl: Template, name: str, context: dict[str, Any]) -> str:
    if name not in tmpl.blocks:
        return ""
    return "".join(tmpl.blocks[name](tmpl.new_context(context))).strip()


def _local_time(value: Any, tz: ZoneInfo) -> str:
    """An ISO instant as local wall time with the zone's abbreviation."""
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if at.tzinfo is None:
        return str(value)
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
