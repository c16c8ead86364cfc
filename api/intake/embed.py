"""The embeddable feedback page with a strict CSP: only its own inline script and style run."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from pathlib import Path

from fastapi.responses import HTMLResponse

PAGE = Path(__file__).with_name("embed.html")


def _csp_hash(body: str) -> str:
    digest = hashlib.sha256(body.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


@lru_cache(maxsize=1)
def _page() -> tuple[str, str, str]:
    """The HTML and the CSP hashes of its one inline script and one inline style."""
    html = PAGE.read_text(encoding="utf-8")
    script = re.search(r"<script>(.*?)</script>", html, re.S)
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    assert script, "embed.html needs one inline <script>"
    assert style, "embed.html needs one inline <style>"
    return html, _csp_hash(script.group(1)), _csp_hash(style.group(1))


def content_security_policy(allowed_origins: list[str]) -> str:
    _, script, style = _page()
    ancestors = " ".join(["'self'", *allowed_origins])
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {script}",
            f"style-src {style}",
            "connect-src 'self'",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {ancestors}",
        ]
    )


def embed_page(allowed_origins: list[str]) -> HTMLResponse:
    html, _, _ = _page()
    headers = {
        "Content-Security-Policy": content_security_policy(allowed_origins),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
    }
    return HTMLResponse(html, headers=headers)
