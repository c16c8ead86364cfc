"""Knowledge base: sanitized Markdown, Chinese/English ranked search, drafts, ticket cases."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_tickets_slice import create as create_ticket
from tests.conftest import Org

API = "/api/v1"


async def _article(http: httpx.AsyncClient, who: Any, **body: Any) -> dict[str, Any]:
    response = await http.post(f"{API}/kb/articles", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_chinese_query_ranks_the_chinese_article_first_and_hides_drafts(
    http: httpx.AsyncClient, org: Org
) -> None:
    english = await _article(
        http,
        org.manager,
        title="Printer network troubleshooting",
        body="Reset the printer's network settings, then reconnect it to the office Wi-Fi.",
        status="published",
        tags=["printer"],
    )
    chinese = await _article(
        http,
        org.manager,
        title="打印机无法连接网络的处理方法",
        body="先重置打印机的网络设置，再重新连接办公室无线网络。",
        status="published",
        category="硬件",
    )
    draft = await _article(
        http,
        org.manager,
        title="打印机网络连接问题（草稿）",
        body="打印机 网络 连接 打印机 网络 连接",
    )
    agent = await http.get(
        f"{API}/kb/search", params={"q": "打印机连不上网络"}, headers=org.agent.headers
    )
    assert agent.status_code == 200, agent.text
    ids = [item["id"] for item in agent.json()["items"]]
    assert ids[0] == chinese["id"]
    assert draft["id"] not in ids
    assert english["id"] not in ids  # no shared words with the Chinese query

    english_query = await http.get(
        f"{API}/kb/search", params={"q": "printer network"}, headers=org.agent.headers
    )
    assert [i["id"] for i in english_query.json()["items"]][0] == english["id"]

    editor = await http.get(
        f"{API}/kb/search", params={"q": "打印机网络连接"}, headers=org.manager.headers
    )
    assert draft["id"] in [item["id"] for item in editor.json()["items"]]
    hidden = await http.get(f"{API}/kb/articles/{draft['id']}", headers=org.agent.headers)
    assert hidden.status_code == 404
    listed = await http.get(f"{API}/kb/articles", headers=org.agent.headers)
    assert all(a["status"] == "published" for a in listed.json()["items"])


async def test_markdown_is_rendered_without_scripts(http: httpx.AsyncClient, org: Org) -> None:
    article = await _article(
        http,
        org.manager,
        title="安全渲染",
        body="# 标题\n\n<script>alert(1)</script>\n\n[点我](javascript:alert(1)) **粗体**\n\n"
        '<img src=x onerror="alert(1)">',
    )
    html = article["html"]
    assert "<h1>标题</h1>" in html
    assert "<strong>粗体</strong>" in html
    # Raw HTML and unsafe links stay inert text: no tag, no handler, no javascript: href.
    assert "<script" not in html
    assert "<img" not in html
    assert 'href="javascript' not in html


async def test_agents_draft_but_do_not_publish(http: httpx.AsyncClient, org: Org) -> None:
    refused = await http.post(
        f"{API}/kb/articles",
        json={"title": "t", "body": "b", "status": "published"},
        headers=org.agent.headers,
    )
    assert refused.status_code == 403
    mine = await _article(http, org.agent, title="我的草稿", body="内容")
    published = await http.patch(
        f"{API}/kb/articles/{mine['id']}", json={"status": "published"}, headers=org.manager.headers
    )
    assert published.json()["status"] == "published"


async def test_resolved_ticket_becomes_a_case_once_and_open_tickets_get_suggestions(
    http: httpx.AsyncClient, org: Org
) -> None:
    await _article(
        http,
        org.manager,
        title="扫码枪无法识别条码的解决办法",
        body="检查扫码枪的键盘模式与条码类型设置。",
        status="published",
    )
    ticket = await create_ticket(
        http, org, title="门店扫码枪无法识别条码", description="收银台的扫码枪扫不出商品条码。"
    )
    base = f"{API}/tickets/{ticket['id']}"
    suggested = await http.get(f"{base}/suggested-articles", headers=org.manager.headers)
    assert suggested.status_code == 200, suggested.text
    assert suggested.json()["items"][0]["title"] == "扫码枪无法识别条码的解决办法"

    early = await http.post(f"{base}/kb-article", headers=org.manager.headers)
    assert early.status_code == 409
    for status, note in (("processing", "远程排查"), ("resolved", "重新设置键盘模式后恢复")):
        moved = await http.post(
            f"{base}/status", json={"status": status, "note": note}, headers=org.manager.headers
        )
        assert moved.status_code == 200, moved.text
    case = await http.post(f"{base}/kb-article", headers=org.manager.headers)
    assert case.status_code == 201, case.text
    article = case.json()
    assert (article["status"], article["source_ticket_id"]) == ("draft", ticket["id"])
    assert "重新设置键盘模式后恢复" in article["body"]
    again = await http.post(f"{base}/kb-article", headers=org.manager.headers)
    assert again.status_code == 200
    assert again.json()["id"] == article["id"]


async def test_a_retried_create_with_the_same_key_makes_one_article(
    http: httpx.AsyncClient, org: Org
) -> None:
    headers = {**org.manager.headers, "Idempotency-Key": f"kb-{org.department_id}"}
    body = {"title": "重复提交", "body": "同一请求"}
    first = await http.post(f"{API}/kb/articles", json=body, headers=headers)
    again = await http.post(f"{API}/kb/articles", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other = await http.post(f"{API}/kb/articles", json={**body, "body": "x"}, headers=headers)
    assert other.status_code == 409
