"""Rendering: Jinja2 templates with the caller's language and a strict CSP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from console.i18n import other_language, translations

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

# Scripts only from our own static files; htmx adds inline styles for its indicators.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
)


def render(
    request: Request,
    name: str,
    lang: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    """The template in `lang` (`_` translates), with CSP and no caching."""
    catalog = translations(lang)
    response = templates.TemplateResponse(
        request,
        name,
        {"_": catalog.gettext, "lang": lang, "other_lang": other_language(lang), **context},
        status_code=status_code,
    )
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    return response
