"""compose.yaml: every service the system needs, health-gated start order, worker shutdown
inside the stop grace period, mounts that exist and settings that exist."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.deploy_files import (
    POOLS,
    REPO,
    SETTINGS_ENV,
    compose_services,
    parse_duration_s,
)

pytestmark = pytest.mark.unit

REQUIRED = frozenset(
    {
        "postgres",
        "rabbitmq",
        "redis",
        "migrate",
        "sandbox",
        "api",
        "relay",
        "scheduler",
        "prometheus",
        "grafana",
        *POOLS,
    }
)
ONE_SHOT = frozenset({"migrate"})


def _flag(command: list[str], flag: str) -> str:
    assert command.count(flag) == 1, (flag, command)
    return command[command.index(flag) + 1]


def _depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    depends = service.get("depends_on") or {}
    assert isinstance(depends, dict), "depends_on must name a condition for each dependency"
    return depends


def test_compose_has_every_required_service() -> None:
    services = compose_services()
    assert services.keys() >= REQUIRED, REQUIRED - services.keys()


def test_long_running_services_have_healthchecks() -> None:
    for name, service in compose_services().items():
        if name in ONE_SHOT:
            assert service["restart"] == "no", name
            continue
        check = service.get("healthcheck")
        assert check, name
        assert check["test"], name
        assert not check.get("disable"), name
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name


def test_one_shot_services_are_only_migrate() -> None:
    services = compose_services()
    one_shot = {name for name, s in services.items() if s.get("restart") == "no"}
    assert one_shot == ONE_SHOT


def test_every_dependency_has_a_condition_it_can_satisfy() -> None:
    services = compose_services()
    for name, service in services.items():
        for dependency, spec in _depends_on(service).items():
            assert dependency in services, (name, dependency)
            condition = spec.get("condition")
            if condition == "service_healthy":
                assert services[dependency].get("healthcheck"), (name, dependency)
            elif condition == "service_completed_successfully":
                assert dependency in ONE_SHOT, (name, dependency)
            else:
                pytest.fail(f"{name} depends on {dependency} with condition {condition!r}")


def test_agentfleet_processes_start_after_migration_and_the_broker() -> None:
    services = compose_services()
    for name in {"api", "relay", "scheduler", *POOLS}:
        depends = _depends_on(services[name])
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["rabbitmq"]["condition"] == "service_healthy", name
    assert _depends_on(services["migrate"])["postgres"]["condition"] == "service_healthy"
    assert _depends_on(services["grafana"])["prometheus"]["condition"] == "service_healthy"


def test_pools_consume_their_queue_and_shut_down_inside_the_grace_period() -> None:
    services = compose_services()
    for pool in POOLS:
        command = services[pool]["command"]
        assert command[:2] == ["dramatiq", f"workers.pools.{pool}"], pool
        assert (REPO / "workers" / "pools" / f"{pool}.py").is_file(), pool
        assert _flag(command, "--queues") == pool
        shutdown_ms = int(_flag(command, "--worker-shutdown-timeout"))
        grace_s = parse_duration_s(services[pool]["stop_grace_period"])
        assert 0 < shutdown_ms < grace_s * 1000, pool


def test_metrics_healthchecks_use_the_metrics_port() -> None:
    services = compose_services()
    for name in {"relay", "scheduler", *POOLS}:
        port = services[name]["environment"]["AGENTFLEET_METRICS_PORT"]
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}/healthz" in probe, name
    assert "http://127.0.0.1:8000/readyz" in " ".join(services["api"]["healthcheck"]["test"])


def test_bind_mounted_paths_exist() -> None:
    mounts = 0
    for name, service in compose_services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith(("./", "../", "/")):
                assert (REPO / source).exists(), (name, volume)
                mounts += 1
    assert mounts >= 4


def test_agentfleet_variables_are_settings() -> None:
    for name, service in compose_services().items():
        environment = service.get("environment") or {}
        assert isinstance(environment, dict), name
        for key in environment:
            if key.startswith("AGENTFLEET_"):
                assert key in SETTINGS_ENV, (name, key)


def test_grafana_is_viewable_and_its_admin_password_comes_from_the_environment() -> None:
    environment = compose_services()["grafana"]["environment"]
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert environment["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD")


def test_prometheus_loads_the_rules() -> None:
    prometheus = compose_services()["prometheus"]
    targets = {volume.split(":")[1] for volume in prometheus["volumes"]}
    assert {"/etc/prometheus/prometheus.yml", "/etc/prometheus/rules"} <= targets
