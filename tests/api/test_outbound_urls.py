"""Webhook and robot URLs are checked at the door: 422 naming the field, nothing stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Member, Org
from tests.notify_support import RECEIVER_PORT

PREFS = "/api/v1/users/me/notification-preferences"
BAD_URLS = [
    "http://\x15hooks.example.com/",  # control character
    "https://xn--zz.example/",  # invalid IDNA
    "https://user:pass@hooks.example.com/",  # credentials
    "ftp://hooks.example.com/in",
    "http://127.0.0.1:5432/",  # loopback, a database port
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.8/hook",
    "http://[::1]/hook",
    "https://hooks.example.com:6379/",
    "http://localhost/hook",
]


@pytest.mark.parametrize("url", BAD_URLS)
async def test_webhook_urls_aimed_inside_or_malformed_are_422(
    http: httpx.AsyncClient, admin: Member, url: str
) -> None:
    body = {"url": url, "events": ["closed"]}
    response = await http.post("/api/v1/webhooks", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    [error] = response.json()["error"]["details"]["errors"]
    assert error["field"] == "body.url"


async def test_an_allowlisted_loopback_receiver_is_accepted(
    http: httpx.AsyncClient, admin: Member
) -> None:
    body = {"url": f"http://127.0.0.1:{RECEIVER_PORT}/in", "events": ["closed"]}
    response = await http.post("/api/v1/webhooks", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    await http.delete(f"/api/v1/webhooks/{response.json()['id']}", headers=admin.headers)
    other_port = {"url": f"http://127.0.0.1:{RECEIVER_PORT + 1}/in", "events": ["closed"]}
    refused = await http.post("/api/v1/webhooks", json=other_port, headers=admin.headers)
    assert refused.status_code == 422


ROBOT_CASES: list[tuple[dict[str, Any], str]] = [
    ({"wecom_webhook_url": "https://evil.example.com/cgi-bin/webhook/send?key=k"}, "wecom"),
    ({"dingtalk_webhook_url": "https://oapi.dingtalk.com.evil.example/robot/send"}, "dingtalk"),
    ({"feishu_webhook_url": "https://qyapi.weixin.qq.com/open-apis/bot/v2/hook/x"}, "feishu"),
    ({"wecom_webhook_url": f"http://127.0.0.1:{RECEIVER_PORT}/wecom"}, "wecom"),
    ({"feishu_webhook_url": "http://\x15open.feishu.cn/hook"}, "feishu"),
    ({"dingtalk_webhook_url": "https://t@oapi.dingtalk.com/robot/send"}, "dingtalk"),
]


@pytest.mark.parametrize(("change", "channel"), ROBOT_CASES)
async def test_robot_urls_off_their_vendor_or_malformed_are_422(
    http: httpx.AsyncClient, org: Org, change: dict[str, Any], channel: str
) -> None:
    body = {"channels": ["in_app", channel], **change}
    response = await http.put(PREFS, json=body, headers=org.agent.headers)
    assert response.status_code == 422, response.text
    [error] = response.json()["error"]["details"]["errors"]
    assert error["field"] == f"body.{channel}_webhook_url"
    stored = await http.get(PREFS, headers=org.agent.headers)
    assert stored.json()[f"{channel}_webhook_url"] is None


async def test_vendor_robot_urls_are_accepted_and_stored_normalized(
    http: httpx.AsyncClient, org: Org
) -> None:
    body = {
        "channels": ["in_app", "wecom", "feishu"],
        "wecom_webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",
        "feishu_webhook_url": "https://OPEN.feishu.cn/open-apis/bot/v2/hook/x",
    }
    response = await http.put(PREFS, json=body, headers=org.agent.headers)
    assert response.status_code == 200, response.text
    assert response.json()["feishu_webhook_url"] == "https://open.feishu.cn/open-apis/bot/v2/hook/x"
    await http.put(PREFS, json={"channels": ["in_app"]}, headers=org.agent.headers)
