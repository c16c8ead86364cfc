"""The FastAPI application: routers under /api/v1, operations at the root."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api.attachments.endpoints import router as attachments_router
from api.audit.admin_log import router as audit_log_router
from api.audit.endpoints import router as pii_access_router
from api.auth.endpoints import router as auth_router
from api.codec import install_codec
from api.custom_fields.endpoints import public_router as public_fields_router
from api.custom_fields.endpoints import router as custom_fields_router
from api.customers.endpoints import router as customers_router
from api.errors import install_error_handlers
from api.followups.endpoints import router as followups_router
from api.intake import install_intake
from api.intake.screenshots import public_form_limit
from api.middleware import RequestContextMiddleware
from api.notifications.endpoints import router as notifications_router
from api.openapi_links import install_openapi_links
from api.ops.endpoints import router as ops_router
from api.orders.endpoints import import_router as order_import_router
from api.orders.endpoints import router as orders_router
from api.org.endpoints import router as org_router
from api.org.service import ensure_first_admin
from api.reports.dictionary import router as report_words_router
from api.reports.endpoints import router as reports_router
from api.reports.schedules import router as report_schedules_router
from api.sales.routes import install_sales
from api.security_headers import SecurityHeadersMiddleware, StaffCORSMiddleware
from api.sla.calendars import router as calendars_router
from api.sla.endpoints import router as sla_router
from api.sla.simulate import router as sla_simulate_router
from api.sla.versions import router as sla_versions_router
from api.tickets.endpoints import router as tickets_router
from console import install_console
from core import pii
from core.db import make_engine, make_sessionmaker
from core.settings import Settings, get_settings
from core.temporal import connect, metrics_runtime

API_PREFIX = "/api/v1"


def _loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _attachment_body_limit(settings: Settings) -> int:
    """The largest attachment plus room for the multipart envelope."""
    largest = max(settings.attachment_max_image_bytes, settings.attachment_max_document_bytes)
    return largest + 64_000


def create_app(
    settings: Settings | None = None,
    *,
    engine: AsyncEngine | None = None,
    temporal: Client | None = None,
) -> FastAPI:
    """Build the app; tests pass their own engine and Temporal client."""
    settings = settings or get_settings()
    pii.configure(settings)  # the keyring of sealed contact fields

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_engine = engine is None
        app.state.engine = engine or make_engine(settings.database_url)
        app.state.sessions = make_sessionmaker(app.state.engine)
        if temporal is None:
            # SDK metrics go to a private loopback port that /metrics folds in.
            app.state.sdk_metrics_address = f"127.0.0.1:{_loopback_port()}"
            runtime = metrics_runtime(app.state.sdk_metrics_address)
            app.state.temporal = await connect(settings, runtime=runtime)
        else:
            app.state.temporal = temporal
        admin_password = settings.admin_password.get_secret_value()
        if settings.admin_email and admin_password:
            async with app.state.sessions() as session:
                await ensure_first_admin(session, settings.admin_email, admin_password)
        try:
            yield
        finally:
            if own_engine:
                await app.state.engine.dispose()

    app = FastAPI(
        title="closedloop",
        version="0.1.0",
        description="Customer feedback tickets and follow-up plans on durable workflows.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.sdk_metrics_address = None
    install_error_handlers(app)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        upload_limits={
            "/customers/import": settings.max_import_bytes,
            "/customers/imports": settings.max_import_bytes,
            "/attachments": _attachment_body_limit(settings),
            "/public/feedback": public_form_limit(settings),
        },
    )
    app.include_router(ops_router)
    for router in (auth_router, org_router, tickets_router, sla_router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(customers_router, prefix=API_PREFIX)
    app.include_router(followups_router, prefix=API_PREFIX)
    app.include_router(notifications_router, prefix=API_PREFIX)
    app.include_router(audit_log_router, prefix=API_PREFIX)
    app.include_router(pii_access_router, prefix=API_PREFIX)
    app.include_router(calendars_router, prefix=API_PREFIX)
    app.include_router(sla_versions_router, prefix=API_PREFIX)
    app.include_router(sla_simulate_router, prefix=API_PREFIX)
    app.include_router(reports_router, prefix=API_PREFIX)
    app.include_router(orders_router, prefix=API_PREFIX)
    app.include_router(order_import_router, prefix=API_PREFIX)
    app.include_router(report_words_router, prefix=API_PREFIX)
    app.include_router(report_schedules_router, prefix=API_PREFIX)
    app.include_router(attachments_router, prefix=API_PREFIX)
    app.include_router(custom_fields_router, prefix=API_PREFIX)
    app.include_router(public_fields_router, prefix=API_PREFIX)
    install_intake(app, settings, API_PREFIX)
    install_sales(app, API_PREFIX)
    install_codec(app, settings, API_PREFIX)
    install_console(app)
    app.add_middleware(
        StaffCORSMiddleware,
        origins=settings.cors_origins,
        prefix=API_PREFIX,
        excluded=(f"{API_PREFIX}/public", f"{API_PREFIX}/codec"),
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.env == "production")
    install_openapi_links(app)
    return app
