"""The Grafana dashboard and its provisioning: well-formed panels, valid PromQL over exported
metrics only, and provisioning that finds the dashboard where compose mounts it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.metrics.catalogue import METRIC_NAMES
from tests.support.deploy_files import POOLS, REPO, compose_services, load_yaml
from tests.support.promql import HISTOGRAM_SUFFIXES, metric_names, run_promtool, unknown_metrics

pytestmark = pytest.mark.unit

GRAFANA = REPO / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "agentfleet.json"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "agentfleet.yml"

REQUIRED_ROWS = (
    "Fleet overview",
    "Per-pool throughput and latency",
    "Providers and rate limits",
    "Cost",
    "Approval queue",
    "Outbox and dead letters",
)
# What Grafana substitutes for its variables, so that promtool can parse the expressions.
_SUBSTITUTIONS = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "6h",
    "$pool": ".+",
    "$tenant": ".*",
}


def _dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return dashboard


def _panels() -> list[dict[str, Any]]:
    return [panel for panel in _dashboard()["panels"] if panel["type"] != "row"]


def _exprs() -> list[str]:
    return [target["expr"] for panel in _panels() for target in panel["targets"]]


def _provisioned_uid() -> str:
    (source,) = load_yaml(DATASOURCES)["datasources"]
    uid: str = source["uid"]
    return uid


def _grafana_mounts() -> dict[str, Path]:
    """Container path -> repository path of the grafana service's bind mounts."""
    mounts = {}
    for volume in compose_services()["grafana"]["volumes"]:
        source, _, rest = volume.partition(":")
        if source.startswith("./"):
            mounts[rest.split(":")[0]] = REPO / source
    return mounts


def _resolve(container_path: str) -> Path:
    for target, source in _grafana_mounts().items():
        if container_path == target or container_path.startswith(target + "/"):
            return source / container_path.removeprefix(target).lstrip("/")
    raise AssertionError(f"{container_path} is not mounted into the grafana service")


def test_dashboard_identity_and_schema() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "agentfleet-overview"
    assert 36 <= dashboard["schemaVersion"] <= 41
    assert dashboard["title"]


def test_dashboard_has_the_required_rows() -> None:
    rows = [panel["title"] for panel in _dashboard()["panels"] if panel["type"] == "row"]
    assert rows == list(REQUIRED_ROWS)


def test_panel_ids_are_unique() -> None:
    ids = [panel["id"] for panel in _dashboard()["panels"]]
    assert len(ids) == len(set(ids))


def test_panels_fit_the_grid_without_overlapping() -> None:
    taken: dict[tuple[int, int], int] = {}
    for panel in _dashboard()["panels"]:
        grid = panel["gridPos"]
        assert {"h", "w", "x", "y"} <= grid.keys(), panel["title"]
        assert min(grid["w"], grid["h"]) > 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in taken, (panel["title"], taken.get((x, y)))
                taken[(x, y)] = panel["id"]


def test_every_panel_has_a_datasource_and_queries() -> None:
    allowed = {"${datasource}", _provisioned_uid()}
    for panel in _panels():
        assert panel["datasource"]["type"] == "prometheus", panel["title"]
        assert panel["datasource"]["uid"] in allowed, panel["title"]
        assert panel["targets"], panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target.get("datasource", panel["datasource"])["uid"] in allowed


def test_template_variables() -> None:
    variables = {v["name"]: v for v in _dashboard()["templating"]["list"]}
    assert {"datasource", "pool", "tenant"} <= variables.keys()
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["datasource"]["current"]["value"] == _provisioned_uid()
    pool = variables["pool"]
    assert set(pool["query"].split(",")) == POOLS
    assert pool["multi"]
    assert pool["includeAll"]
    tenant = variables["tenant"]
    assert tenant["multi"]
    assert tenant["includeAll"]
    assert tenant["datasource"]["uid"] == "${datasource}"
    query = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", tenant["definition"])
    assert query is not None, tenant["definition"]
    assert query[1] in METRIC_NAMES
    assert query[2] == "tenant"


def test_dashboard_reads_only_exported_metrics() -> None:
    for expr in _exprs():
        assert metric_names(expr), expr
        assert not unknown_metrics(expr), expr


def test_dashboard_shows_every_exported_metric() -> None:
    shown = set()
    for expr in _exprs():
        for name in metric_names(expr):
            shown.add(name)
            shown.update(name[: -len(s)] for s in HISTOGRAM_SUFFIXES if name.endswith(s))
    assert set(METRIC_NAMES) <= shown, set(METRIC_NAMES) - shown


def test_dashboard_expressions_parse(tmp_path: Path) -> None:
    """promtool parses each expression (Grafana variables substituted) as a recording rule."""
    pattern = re.compile("|".join(re.escape(k) for k in sorted(_SUBSTITUTIONS, key=len)[::-1]))
    rules = [
        {
            "record": f"dashboard:expr_{n}:check",
            "expr": pattern.sub(lambda m: _SUBSTITUTIONS[m[0]], e),
        }
        for n, e in enumerate(_exprs())
    ]
    for rule in rules:
        assert "$" not in rule["expr"], rule
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))

    result = run_promtool("check", "rules", path)
    assert result.returncode == 0, f"promtool failed:\n{result.stdout}\n{result.stderr}"
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_datasource_points_at_the_compose_prometheus() -> None:
    (source,) = load_yaml(DATASOURCES)["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert "prometheus" in compose_services()


def test_dashboard_provider_points_at_the_mounted_dashboards() -> None:
    (provider,) = load_yaml(PROVIDERS)["providers"]
    assert provider["type"] == "file"
    folder = _resolve(provider["options"]["path"])
    assert folder.resolve() == DASHBOARD.parent.resolve()
    assert DASHBOARD in folder.glob("*.json")


def test_provisioning_folder_is_mounted_where_grafana_reads_it() -> None:
    provisioning = _resolve("/etc/grafana/provisioning")
    assert (provisioning / "datasources" / DATASOURCES.name).is_file()
    assert (provisioning / "dashboards" / PROVIDERS.name).is_file()
    home = compose_services()["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert _resolve(home).resolve() == DASHBOARD.resolve()
