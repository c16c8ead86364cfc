"""The embeddable form in headless Chromium: fill, submit, see the ticket number and status."""

from __future__ import annotations

import asyncio
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
from tests.conftest import Member

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def served(settings: Settings, worker: None) -> AsyncIterator[str]:
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


async def test_customer_submits_the_embedded_form_and_follows_the_status_link(
    served: str, http: httpx.AsyncClient, admin: Member
) -> None:
    expect = playwright_api.expect
    problems: list[str] = []
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            page = await browser.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            await page.goto(f"{served}/embed/feedback?lang=en")
            await expect(page.locator("h1").first).to_have_text("Send us feedback")
            await expect(page.locator("#category option[value=product_quality]")).to_have_count(1)
            await page.select_option("#category", "product_quality")
            await page.fill("#description", "The kettle leaks from the lid.")
            await page.fill("#email", "kettle@example.com")
            await page.click("#submit")
            number = page.locator("#number")
            await expect(number).to_have_text(re.compile(r"^FB\d{11,}$"), timeout=30_000)
            shown = await number.inner_text()
            link = await page.locator("#status-link").get_attribute("href")
            assert link is not None
            assert link.startswith(f"{served}/embed/feedback?lang=en#token=")
            status_page = await browser.new_page()
            await status_page.goto(link)
            await expect(status_page.locator("#status-number")).to_have_text(shown)
            await expect(status_page.locator("#status-value")).to_have_text("Pending")
            await expect(status_page.locator("#timeline li")).to_have_count(1)
        finally:
            await browser.close()
    assert problems == []
    staff_view = await http.get(f"/api/v1/tickets/{shown}", headers=admin.headers)
    assert staff_view.status_code == 200
    assert staff_view.json()["channel"] == "web_form"
    assert staff_view.json()["description"] == "The kettle leaks from the lid."
    assert staff_view.json()["contact"] == {"email": "kettle@example.com"}
