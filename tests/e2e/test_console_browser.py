"""The web console in headless Chromium: queue with a badge, status change, live timeline."""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.app import create_app
from core import devstack
from core.settings import Settings
from tests.conftest import Org, repo_root
from tests.e2e.test_embed_form import CHROMIUM, CHROMIUM_ARGS

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed")


def _screenshot_dir(tmp_path: Path) -> Path:
    """docs/screenshots when refreshing the README's pictures, else a scratch directory."""
    if os.environ.get("CLOSEDLOOP_SCREENSHOTS") == "1":
        return repo_root() / "docs" / "screenshots"
    return tmp_path


@pytest.fixture
async def console_url(settings: Settings, worker: None) -> AsyncIterator[str]:
    """The real app under uvicorn on a loopback port, in a thread with its own event loop."""
    if not await asyncio.to_thread(CHROMIUM.exists):
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    port = devstack.free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(300):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "uvicorn did not start within 15 s"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.to_thread(thread.join, 15)


async def test_agent_works_a_ticket_from_the_queue_in_the_browser(
    console_url: str, http: httpx.AsyncClient, org: Org, tmp_path: Path
) -> None:
    created = await http.post(
        "/api/v1/tickets",
        json={
            "title": "洗碗机漏水",
            "description": "The dishwasher leaks after every cycle.",
            "category": "product_quality",
            "priority": "urgent",
            "channel": "staff",
            "department_id": org.department_id,
        },
        headers=org.manager.headers,
    )
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    shots = _screenshot_dir(tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    expect = playwright_api.expect
    problems: list[str] = []
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 720})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            await page.goto(f"{console_url}/console/")
            await expect(page).to_have_url(re.compile(r"/console/login\?next="))
            await expect(page.locator("h1")).to_have_text("登录")
            await page.fill("input[name=username]", org.agent.email)
            await page.fill("input[name=password]", "password-123")
            await page.click("button[type=submit]:not([data-testid])")
            await expect(page.locator("h1")).to_have_text("我的队列")
            row = page.locator("[data-testid=ticket-row]", has_text=number)
            await expect(row).to_have_count(1)
            badge = row.locator("[data-testid=sla-badge]")
            await expect(badge).to_have_attribute("data-state", "ok")
            await expect(badge.locator(".countdown")).to_have_text(re.compile(r"^\d+:\d\d:\d\d$"))
            await page.screenshot(path=str(shots / "console-queue.png"), full_page=True)

            await row.locator("a").click()
            status = page.locator("[data-testid=ticket-status]")
            await expect(status).to_have_attribute("data-status", "pending")
            options = page.locator("[data-testid=status-form] select[name=status] option")
            await expect(options).to_have_count(1)  # pending → processing only
            await page.select_option("select[name=status]", "processing")
            await page.fill("[data-testid=status-form] textarea[name=note]", "正在排查进水阀")
            await page.click("[data-testid=status-form] button")
            await expect(status).to_have_attribute("data-status", "processing")
            timeline = page.locator("[data-testid=timeline]")
            await expect(timeline).to_contain_text("正在排查进水阀")

            # Someone else comments: the event appears without a reload (htmx polling).
            url_before = page.url
            added = await http.post(
                f"/api/v1/tickets/{number}/comments",
                json={"body": "Customer sent a photo of the valve.", "public": False},
                headers=org.manager.headers,
            )
            assert added.status_code == 200, added.text
            await expect(timeline).to_contain_text("photo of the valve", timeout=15_000)
            assert page.url == url_before
            await page.screenshot(path=str(shots / "console-ticket.png"), full_page=True)

            await page.click("[data-testid=lang-switch]")
            await expect(page.locator("h2").first).to_have_text("Timeline")
            await page.goto(f"{console_url}/console/tickets?priority=urgent")
            await expect(page.locator("h1")).to_have_text("Tickets")  # remembered
            await expect(page.locator("select[name=priority]")).to_have_value("urgent")
            await expect(page.locator("[data-testid=ticket-row]", has_text=number)).to_have_count(1)
            await page.screenshot(path=str(shots / "console-tickets.png"), full_page=True)
        finally:
            await browser.close()
    assert problems == []
