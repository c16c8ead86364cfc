"""Console test helpers: log in through the form like a browser would."""

from __future__ import annotations

import re

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: str) -> str:
    """The CSRF token a rendered form carries."""
    found = CSRF.search(page)
    assert found, "the page has no CSRF token"
    return found.group(1)


async def console_login(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    """GET the form, POST it back with its CSRF token; the client keeps the cookies."""
    form = await http.get("/console/login")
    assert form.status_code == 200, form.text
    return await http.post(
        "/console/login",
        data={"username": email, "password": password, "csrf_token": csrf_of(form.text)},
    )
