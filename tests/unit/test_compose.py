"""The production compose stack, its Dockerfile and Temporal setup script stay consistent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
TEMPORAL_SETUP = ROOT / "deploy" / "temporal-setup.sh"

REQUIRED_SERVICES = {"postgres", "temporal", "temporal-ui", "api", "worker", "migrate"}
APP_SETTINGS = {
    "DATABASE_URL",
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_TASK_QUEUE",
    "CLOSEDLOOP_SECRET_KEY",
}
# TODO: import from workflows/search_attributes.py once it exists.
EXPECTED_SEARCH_ATTRIBUTES = {
    "TicketNumber": "Keyword",
    "TicketStatus": "Keyword",
    "Priority": "Keyword",
    "Department": "Keyword",
    "Assignee": "Keyword",
    "SlaBreached": "Bool",
    "EscalationLevel": "Int",
    "CustomerCode": "Keyword",
    "Owner": "Keyword",
    "PlanStatus": "Keyword",
    "NextDue": "Datetime",
}
SECRET_NAME = re.compile(r"PASSWORD|PWD|SECRET|TOKEN|_KEY$")
REQUIRED_REFERENCE = re.compile(r"^\$\{[A-Z][A-Z0-9_]*:\?[^}]+\}$")
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def services(compose_text: str) -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(compose_text)
    return document["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict, whichever compose syntax it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def published_host_ports(service: dict[str, Any]) -> dict[int, int]:
    """host port -> container port for every published port (short or long syntax)."""
    published: dict[int, int] = {}
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            published[int(port["published"])] = int(port["target"])
            continue
        parts = str(port).split("/")[0].split(":")
        if len(parts) >= 2:
            published[int(parts[-2])] = int(parts[-1])
    return published


def one_shot_services(services: dict[str, dict[str, Any]]) -> set[str]:
    """Services others wait on to *complete*: jobs, not daemons."""
    return {
        name
        for service in services.values()
        for name, spec in (service.get("depends_on") or {}).items()
        if isinstance(spec, dict) and spec.get("condition") == "service_completed_successfully"
    }


def test_stack_has_database_temporal_ui_and_app_services(services):
    assert services.keys() >= REQUIRED_SERVICES


def test_every_image_is_pinned_to_an_explicit_tag(services):
    for name, service in services.items():
        image = service.get("image")
        if image is None:
            assert "build" in service, f"{name} has neither image nor build"
            continue
        repository, _, tag = image.rpartition(":")
        assert repository, f"{name}: image {image!r} has no tag"
        assert "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag not in {"", "latest"}, f"{name}: image {image!r} is not pinned"
        assert "$" not in tag, f"{name}: image tag {tag!r} must be literal"


def test_api_and_temporal_ui_ports_are_published(services):
    assert published_host_ports(services["api"]).get(8000) == 8000
    assert published_host_ports(services["temporal-ui"]).get(8233) == 8080


@pytest.mark.parametrize("service_name", ["api", "worker", "migrate"])
def test_app_services_get_database_and_temporal_settings(services, service_name):
    env = environment(services[service_name])
    assert env.keys() >= APP_SETTINGS, APP_SETTINGS - env.keys()
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["CLOSEDLOOP_ENV"] == "production"


def test_api_and_worker_share_one_environment(services):
    api, worker = environment(services["api"]), environment(services["worker"])
    assert {key: api[key] for key in APP_SETTINGS} == {key: worker[key] for key in APP_SETTINGS}


def test_secret_variables_are_required_references_without_defaults(services):
    for name, service in services.items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key):
                assert REQUIRED_REFERENCE.match(value), f"{name}.{key} must be ${{VAR:?message}}"


def test_database_url_takes_its_password_from_a_required_variable(services):
    for name in ("api", "worker", "migrate"):
        url = environment(services[name])["DATABASE_URL"]
        assert re.search(r"://[^:/@]+:\$\{POSTGRES_PASSWORD:\?[^}]+\}@", url), url


def test_no_secret_is_interpolated_with_a_default(compose_text):
    for variable, modifier in INTERPOLATION.findall(compose_text):
        if SECRET_NAME.search(variable):
            assert modifier.startswith(":?"), f"${{{variable}{modifier}}} may fall back silently"


def test_env_example_lists_every_variable_the_compose_file_reads(compose_text):
    documented = {
        line.split("=", 1)[0].strip()
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    referenced = {variable for variable, _ in INTERPOLATION.findall(compose_text)}
    assert referenced <= documented, referenced - documented


def test_every_long_running_service_has_a_healthcheck(services):
    jobs = one_shot_services(services)
    assert {"migrate", "temporal-admin-tools", "temporal-namespace"} <= jobs
    for name, service in services.items():
        if name in jobs:
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name} disables its healthcheck"


@pytest.mark.parametrize("service_name", ["api", "worker"])
def test_app_waits_for_healthy_postgres_and_temporal_and_finished_setup(services, service_name):
    depends_on = services[service_name]["depends_on"]
    assert isinstance(depends_on, dict), "depends_on needs conditions, not a bare list"
    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["temporal"]["condition"] == "service_healthy"
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
    assert depends_on["temporal-namespace"]["condition"] == "service_completed_successfully"


def test_temporal_server_starts_after_its_schema_on_postgres(services):
    temporal = services["temporal"]
    assert temporal["depends_on"]["temporal-admin-tools"]["condition"] == (
        "service_completed_successfully"
    )
    env = environment(temporal)
    assert env["DB"] == "postgres12"
    assert (env["DBNAME"], env["VISIBILITY_DBNAME"]) == ("temporal", "temporal_visibility")


def test_depends_on_names_existing_services(services):
    for name, service in services.items():
        for dependency in service.get("depends_on") or {}:
            assert dependency in services, f"{name} depends on unknown {dependency}"


def test_bind_mounted_files_exist(services):
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_postgres_init_creates_the_temporal_databases(services):
    mounts = [v for v in services["postgres"]["volumes"] if "/docker-entrypoint-initdb.d" in v]
    assert mounts, "postgres must mount an init directory"
    init_dir = ROOT / mounts[0].split(":")[0]
    sql = "\n".join(path.read_text(encoding="utf-8") for path in sorted(init_dir.iterdir()))
    assert "CREATE DATABASE temporal " in sql
    assert "CREATE DATABASE temporal_visibility " in sql


def test_dockerfile_runs_the_cli_as_a_non_root_user():
    text = DOCKERFILE.read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users, "Dockerfile has no USER line"
    assert users[-1].split(":")[0] not in {"root", "0"}
    cmd = re.findall(r"^CMD\s+(.+)$", text, flags=re.MULTILINE)
    assert cmd, "Dockerfile has no CMD"
    assert "closedloop" in cmd[-1]
    assert re.search(r"^EXPOSE\s+8000\b", text, flags=re.MULTILINE)
    assert re.search(r"^HEALTHCHECK\b.*\n?.*healthz", text, flags=re.MULTILINE)


def test_setup_script_registers_exactly_the_expected_search_attributes():
    text = TEMPORAL_SETUP.read_text(encoding="utf-8")
    block = re.search(r"SEARCH_ATTRIBUTES=\(\n(.*?)\n\)", text, flags=re.DOTALL)
    assert block, "SEARCH_ATTRIBUTES=( ... ) not found"
    pairs = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    registered = dict(pair.split(":", 1) for pair in pairs if pair)
    assert registered == EXPECTED_SEARCH_ATTRIBUTES
