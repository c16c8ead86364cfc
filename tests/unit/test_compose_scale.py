"""deploy/docker-compose.scale.yml: Temporal on its own Postgres, API and worker scaled apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.test_compose import (
    APP_SETTINGS,
    ENV_EXAMPLE,
    INTERPOLATION,
    REQUIRED_REFERENCE,
    SECRET_NAME,
    environment,
    one_shot_services,
    published_host_ports,
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SCALE_FILE = DEPLOY / "docker-compose.scale.yml"


@pytest.fixture(scope="module")
def text() -> str:
    return SCALE_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def services(text: str) -> dict[str, dict[str, Any]]:
    document: dict[str, Any] = yaml.safe_load(text)
    return document["services"]


def test_temporal_persists_in_its_own_postgres(services: dict[str, dict[str, Any]]) -> None:
    assert {"postgres", "temporal-postgres"} <= services.keys()
    for name in ("temporal", "temporal-admin-tools"):
        env = environment(services[name])
        assert env["POSTGRES_SEEDS"] == "temporal-postgres"
        assert (env["DBNAME"], env["VISIBILITY_DBNAME"]) == ("temporal", "temporal_visibility")
    app_volumes = set(services["postgres"]["volumes"])
    temporal_volumes = set(services["temporal-postgres"]["volumes"])
    assert not app_volumes & temporal_volumes
    assert services["temporal-admin-tools"]["depends_on"]["temporal-postgres"] == {
        "condition": "service_healthy"
    }


def test_the_app_database_url_never_points_at_temporal_postgres(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in ("api", "worker", "migrate"):
        url = environment(services[name])["DATABASE_URL"]
        assert "@postgres:5432/closedloop" in url
        assert environment(services[name]).keys() >= APP_SETTINGS


def test_visibility_database_is_created_on_temporal_postgres(
    services: dict[str, dict[str, Any]],
) -> None:
    mounts = [v for v in services["temporal-postgres"]["volumes"] if "initdb.d" in v]
    init_dir = DEPLOY / mounts[0].split(":")[0]
    sql = "\n".join(p.read_text(encoding="utf-8") for p in sorted(init_dir.iterdir()))
    assert "CREATE DATABASE temporal_visibility " in sql


@pytest.mark.parametrize("name", ["api", "worker"])
def test_api_and_worker_scale_separately_with_at_least_two_replicas(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    replicas = str(services[name]["deploy"]["replicas"])
    variable = f"CLOSEDLOOP_{name.upper()}_REPLICAS"
    assert replicas.startswith(f"${{{variable}:-")
    assert int(replicas.split(":-")[1].rstrip("}")) >= 2
    assert not published_host_ports(services[name]), f"{name} replicas cannot share a host port"


def test_one_proxy_publishes_the_api_and_spreads_over_replicas(
    services: dict[str, dict[str, Any]],
) -> None:
    proxy = services["proxy"]
    assert published_host_ports(proxy).get(8000) == 8000
    caddyfile = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert "name api" in caddyfile
    assert "port 8000" in caddyfile


def test_worker_tuning_settings_reach_the_worker(services: dict[str, dict[str, Any]]) -> None:
    env = environment(services["worker"])
    assert "CLOSEDLOOP_MAX_CACHED_WORKFLOWS" in env
    assert "CLOSEDLOOP_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS" in env


def test_images_pinned_secrets_required_and_documented(
    services: dict[str, dict[str, Any]], text: str
) -> None:
    for name, service in services.items():
        image = service.get("image", "")
        assert ":" in image, name
        assert not image.endswith(":latest"), name
        for key, value in environment(service).items():
            if SECRET_NAME.search(key):
                assert REQUIRED_REFERENCE.match(value), f"{name}.{key}"
    documented = {
        line.split("=", 1)[0].strip()
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    referenced = {variable for variable, _ in INTERPOLATION.findall(text)}
    assert referenced <= documented, referenced - documented


def test_long_running_services_have_healthchecks_and_mounts_exist(
    services: dict[str, dict[str, Any]],
) -> None:
    jobs = one_shot_services(services)
    for name, service in services.items():
        if name not in jobs:
            assert (service.get("healthcheck") or {}).get("test"), name
        for dependency in service.get("depends_on") or {}:
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
    assert (DEPLOY / services["api"]["build"]["context"] / "Dockerfile").exists()
