"""The web console: server-rendered pages under /console/ on the API's own app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from console.auth import LoginRequired, redirect_to_login
from console.pages_auth import router as auth_router
from console.pages_tickets import router as tickets_router

STATIC = Path(__file__).parent / "static"


def install_console(app: FastAPI) -> None:
    """Mount the console's pages and static files under /console."""
    app.add_exception_handler(LoginRequired, redirect_to_login)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.include_router(auth_router, prefix="/console")
    app.include_router(tickets_router, prefix="/console")
