"""Mounts the sales and knowledge-base routers."""

from __future__ import annotations

from fastapi import FastAPI

from api.kb.endpoints import router as kb_router
from api.kb.endpoints import tickets_router as kb_tickets_router
from api.sales.needs import needs_router, solutions_router
from api.sales.public import router as public_router
from api.sales.quotes import router as quotes_router
from api.sales.quotes import rules_router
from api.sales.service_orders import router as service_orders_router


def install_sales(app: FastAPI, prefix: str) -> None:
    for router in (
        needs_router,
        solutions_router,
        quotes_router,
        rules_router,
        service_orders_router,
        public_router,
        kb_router,
        kb_tickets_router,
    ):
        app.include_router(router, prefix=prefix)
