"""Group robots: WeCom (企业微信), DingTalk (钉钉, signed secret) and Feishu (飞书) webhooks."""

from __future__ import annotations

import json
from typing import Any

from activities.notify.errors import Answer, Outbound, permanent, transient
from activities.notify.render import Message
from domain.notify import dingtalk_sign, feishu_sign

# Robot error codes that mean "slow down / try later"; every other non-zero code is permanent.
WECOM_RETRY = frozenset({-1, 45009})
DINGTALK_RETRY = frozenset({-1, 130101})
FEISHU_RETRY = frozenset({11232, 11233})


def _dump(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


def _check_code(what: str, response: Answer, field: str, retry: frozenset[int]) -> None:
    """Robots answer HTTP 200 with an error code in the body."""
    try:
        answer = json.loads(response.body)
    except ValueError:
        return
    if not isinstance(answer, dict):
        return
    code = answer.get(field, answer.get("StatusCode", 0))
    if not code:
        return
    message = f"{what} error {code}: {answer.get('errmsg') or answer.get('msg') or ''}".strip()
    if code in retry:
        raise transient(message)
    raise permanent(message)


async def send_wecom(out: Outbound, *, url: str, message: Message) -> None:
    """WeCom group robot, markdown message."""
    content = f"**{message.subject}**\n{message.body}"
    document = {"msgtype": "markdown", "markdown": {"content": content}}
    response = await out.post("WeCom robot", url, content=_dump(document))
    _check_code("WeCom robot", response, "errcode", WECOM_RETRY)


async def send_dingtalk(
    out: Outbound, *, url: str, secret: str | None, message: Message, now_ms: int
) -> None:
    """DingTalk group robot, markdown; with a secret, `timestamp` and `sign` ride in the query."""
    # DingTalk markdown needs two trailing spaces for a line break.
    text = f"### {message.subject}\n\n" + message.body.replace("\n", "  \n")
    document = {"msgtype": "markdown", "markdown": {"title": message.subject, "text": text}}
    params = {"timestamp": str(now_ms), "sign": dingtalk_sign(secret, now_ms)} if secret else None
    response = await out.post("DingTalk robot", url, content=_dump(document), params=params)
    _check_code("DingTalk robot", response, "errcode", DINGTALK_RETRY)


async def send_feishu(
    out: Outbound, *, url: str, secret: str | None, message: Message, now_s: int
) -> None:
    """Feishu group robot, text; with a secret, `timestamp` and `sign` ride in the body."""
    document: dict[str, Any] = {
        "msg_type": "text",
        "content": {"text": f"{message.subject}\n{message.body}"},
    }
    if secret:
        document.update(timestamp=str(now_s), sign=feishu_sign(secret, now_s))
    response = await out.post("Feishu robot", url, content=_dump(document))
    _check_code("Feishu robot", response, "code", FEISHU_RETRY)
