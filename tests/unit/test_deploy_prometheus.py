"""Prometheus configuration, recording and alert rules: promtool accepts them, their unit tests
pass, and they read only metrics that agentfleet exports."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.deploy_files import POOLS, REPO, compose_services, load_yaml, parse_duration_s
from tests.support.promql import (
    RULES,
    metric_names,
    recorded_names,
    run_promtool,
    unknown_metrics,
)

pytestmark = pytest.mark.unit

PROMETHEUS = REPO / "deploy" / "prometheus"
RULE_TESTS = PROMETHEUS / "tests" / "agentfleet.rules.test.yml"

REQUIRED_ALERTS = frozenset(
    {
        "AgentfleetQueueBacklogGrowing",
        "AgentfleetDeadLetters",
        "AgentfleetDeadLetterQueueNotEmpty",
        "AgentfleetProvider429RateHigh",
        "AgentfleetOutboxLagHigh",
        "AgentfleetApprovalPendingTooOld",
        "AgentfleetTenantBudgetNearlySpent",
        "AgentfleetWorkerPoolDown",
        "AgentfleetQueueWithoutConsumers",
    }
)


def _rules() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = load_yaml(RULES)["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _alerts() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for rule in _rules() if "alert" in rule}


def _assert_ok(result: Any) -> None:
    assert result.returncode == 0, f"promtool failed:\n{result.stdout}\n{result.stderr}"


def test_promtool_checks_the_rules() -> None:
    result = run_promtool("check", "rules", RULES)
    _assert_ok(result)
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    result = run_promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    _assert_ok(result)


def test_promtool_checks_the_config_as_compose_mounts_it(tmp_path: Path) -> None:
    """Lay the files out as the prometheus service's bind mounts do, then check the config."""
    service = compose_services()["prometheus"]
    for volume in service["volumes"]:
        source, _, target = volume.partition(":")
        if not source.startswith("./"):
            continue
        target = target.split(":")[0]
        assert target.startswith("/etc/prometheus/"), volume
        destination = tmp_path / target.removeprefix("/etc/prometheus/")
        origin = REPO / source
        if origin.is_dir():
            shutil.copytree(origin, destination)
        else:
            shutil.copy(origin, destination)
    flags = [arg for arg in service["command"] if arg.startswith("--config.file=")]
    assert flags == ["--config.file=/etc/prometheus/prometheus.yml"]

    result = run_promtool("check", "config", tmp_path / "prometheus.yml")
    _assert_ok(result)
    assert "1 rule files found" in result.stdout, result.stdout


def test_every_required_alert_exists_with_severity_annotations_and_for() -> None:
    alerts = _alerts()
    assert alerts.keys() >= REQUIRED_ALERTS, REQUIRED_ALERTS - alerts.keys()
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}, name
        assert rule["annotations"]["summary"].strip(), name
        assert rule["annotations"]["description"].strip(), name
        assert "for" in rule, name
        parse_duration_s(rule["for"])


def test_rule_tests_prove_each_required_alert_fires_and_stays_quiet() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in load_yaml(RULE_TESTS)["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    assert firing >= REQUIRED_ALERTS, REQUIRED_ALERTS - firing
    assert quiet >= REQUIRED_ALERTS, REQUIRED_ALERTS - quiet


def test_rules_read_only_exported_metrics() -> None:
    for rule in _rules():
        assert metric_names(rule["expr"]), rule
        assert not unknown_metrics(rule["expr"]), (rule.get("alert") or rule["record"], rule)


def test_recorded_series_follow_the_naming_convention() -> None:
    for name in recorded_names():
        level, metric, operations = name.split(":")
        assert level == "agentfleet", name
        assert metric, name
        assert operations, name


def test_unknown_metric_names_are_caught() -> None:
    assert unknown_metrics('sum(rate(agentfleet_tasks_total{outcome="failed"}[5m]))') == set()
    assert unknown_metrics("rate(agentfleet_task_duration_seconds_bucket[5m])") == set()
    assert unknown_metrics("agentfleet:queue_depth:max > 0") == set()
    assert unknown_metrics("rate(agentfleet_task_total[5m]) / on (x) agentfleet_nope") == {
        "agentfleet_task_total",
        "agentfleet_nope",
    }


def test_metric_names_skip_functions_labels_and_keywords() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (queue, le) (rate(a_bucket{queue=~"x.+"}[5m]))) '
        "> bool 1e3 and on (queue) group_left b offset 5m unless c"
    )
    assert metric_names(expr) == {"a_bucket", "b", "c"}


def test_every_metrics_endpoint_of_compose_is_scraped() -> None:
    """The API on :8000, the relay, the scheduler and each pool on the metrics port."""
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    services = compose_services()
    metrics_port = int(services["relay"]["environment"]["AGENTFLEET_METRICS_PORT"])

    static: dict[str, str] = {}
    for job in jobs.values():
        for group in job.get("static_configs", []):
            for target in group["targets"]:
                static[target] = group["labels"]["component"]
    assert static["api:8000"] == "api"
    assert static[f"relay:{metrics_port}"] == "relay"
    assert static[f"scheduler:{metrics_port}"] == "scheduler"

    (discovery,) = jobs["pools"]["dns_sd_configs"]
    assert set(discovery["names"]) == POOLS
    assert discovery["port"] == metrics_port
    assert services.keys() >= POOLS
    relabels = {rule["target_label"]: rule for rule in jobs["pools"]["relabel_configs"]}
    assert relabels["pool"]["source_labels"] == ["__meta_dns_name"]
    assert relabels["component"]["replacement"] == "pool"
