"""deploy/k8s: every manifest validates against Kubernetes' schemas (KEDA's kinds against
tests/support/keda_schema.py), and the objects fit together: one Deployment and one
ScaledObject per pool, shutdown inside the grace period, budgets that select something,
secrets referenced and never written down."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from tests.support.deploy_files import (
    POOLS,
    REPO,
    SECRET_SETTINGS,
    SETTINGS_ENV,
    load_yaml,
    load_yaml_documents,
)
from tests.support.keda_schema import KEDA_API_VERSION, keda_validator

pytestmark = pytest.mark.unit

K8S = REPO / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33"
SECRET_NAME = "agentfleet-secrets"
EXAMPLE_SECRET = K8S / "secret.example.yaml"
METRICS_PORT = 9191
POOL_LABEL = "agentfleet.io/pool"

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]*:[^/\s@]+@")

Doc = dict[str, Any]


def _kustomization() -> Doc:
    kustomization: Doc = load_yaml(K8S / "kustomization.yaml")
    return kustomization


def _documents() -> list[tuple[Path, Doc]]:
    """Every object kustomization.yaml applies, with the file it comes from."""
    return [
        (K8S / resource, doc)
        for resource in _kustomization()["resources"]
        for doc in load_yaml_documents(K8S / resource)
    ]


def _of_kind(kind: str) -> list[Doc]:
    return [doc for _, doc in _documents() if doc["kind"] == kind]


def _by_name(kind: str) -> dict[str, Doc]:
    return {doc["metadata"]["name"]: doc for doc in _of_kind(kind)}


def _pool_deployments() -> dict[str, Doc]:
    pools: dict[str, Doc] = {}
    for deployment in _of_kind("Deployment"):
        pool = deployment["spec"]["template"]["metadata"]["labels"].get(POOL_LABEL)
        if pool is not None:
            assert pool not in pools, f"two Deployments for pool {pool}"
            pools[pool] = deployment
    return pools


def _pod_specs() -> Iterator[tuple[str, Doc]]:
    for kind in ("Deployment", "Job"):
        for doc in _of_kind(kind):
            yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]


def _containers() -> Iterator[tuple[str, Doc]]:
    for name, pod in _pod_specs():
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            yield name, container


def _flag(command: list[str], flag: str) -> str:
    assert command.count(flag) == 1, (flag, command)
    return command[command.index(flag) + 1]


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _port_number(container: Doc, port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p["name"] == port]
    assert isinstance(number, int)
    return number


def test_every_manifest_file_is_applied_except_the_example_secret() -> None:
    listed = {K8S / resource for resource in _kustomization()["resources"]}
    on_disk = set(K8S.rglob("*.yaml")) - {K8S / "kustomization.yaml", EXAMPLE_SECRET}
    assert listed == on_disk
    assert EXAMPLE_SECRET.is_file()
    assert _kustomization()["namespace"] == "agentfleet"


def test_builtin_kinds_validate_against_kubernetes_schemas() -> None:
    documents = [*_documents(), *((EXAMPLE_SECRET, d) for d in load_yaml_documents(EXAMPLE_SECRET))]
    checked = 0
    for path, doc in documents:
        if doc["apiVersion"] == KEDA_API_VERSION:
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{path.name} {doc['kind']}/{doc['metadata']['name']}: {error}")
        checked += 1
    assert checked >= 20


def test_keda_kinds_validate_against_the_keda_schema() -> None:
    keda = [doc for _, doc in _documents() if doc["apiVersion"] == KEDA_API_VERSION]
    assert {doc["kind"] for doc in keda} == {"ScaledObject", "TriggerAuthentication"}
    for doc in keda:
        errors = [e.message for e in keda_validator(doc["kind"]).iter_errors(doc)]
        assert not errors, (doc["metadata"]["name"], errors)


def _outreach_scaled_object() -> Doc:
    (scaled,) = [d for d in _of_kind("ScaledObject") if d["metadata"]["name"].endswith("outreach")]
    return scaled


def _with_spec(doc: Doc, **changes: Any) -> Doc:
    return {**doc, "spec": {**doc["spec"], **changes}}


def _with_trigger(doc: Doc, drop: str = "", **metadata: Any) -> Doc:
    (trigger,) = doc["spec"]["triggers"]
    trigger = {k: v for k, v in trigger.items() if k != drop}
    trigger["metadata"] = {k: v for k, v in trigger["metadata"].items() if k != drop} | metadata
    return _with_spec(doc, triggers=[trigger])


BROKEN_SCALED_OBJECTS = {
    "target without a name": lambda d: _with_spec(d, scaleTargetRef={"kind": "Deployment"}),
    "no triggers": lambda d: _with_spec(d, triggers=[]),
    "replica count as a string": lambda d: _with_spec(d, minReplicaCount="1"),
    "misspelt field": lambda d: _with_spec(d, cooldown=300),
    "unknown mode": lambda d: _with_trigger(d, mode="QueueSize"),
    "no queue name": lambda d: _with_trigger(d, drop="queueName"),
    "numeric metadata value": lambda d: _with_trigger(d, value=100),
    "no broker address": lambda d: _with_trigger(d, drop="authenticationRef"),
}


def test_keda_schema_accepts_the_pools_scaled_object() -> None:
    assert keda_validator("ScaledObject").is_valid(_outreach_scaled_object())


@pytest.mark.parametrize("mistake", list(BROKEN_SCALED_OBJECTS))
def test_keda_schema_rejects_a_broken_scaled_object(mistake: str) -> None:
    broken = BROKEN_SCALED_OBJECTS[mistake](_outreach_scaled_object())
    assert not keda_validator("ScaledObject").is_valid(broken)


def test_keda_schema_rejects_a_secret_reference_without_a_key() -> None:
    (auth,) = _of_kind("TriggerAuthentication")
    broken = {**auth, "spec": {"secretTargetRef": [{"parameter": "host", "name": SECRET_NAME}]}}
    assert not keda_validator("TriggerAuthentication").is_valid(broken)


def test_names_are_valid_dns_names() -> None:
    for _, doc in _documents():
        assert _DNS_SUBDOMAIN.match(doc["metadata"]["name"]), doc["metadata"]["name"]
    for owner, container in _containers():
        assert _DNS_LABEL.match(container["name"]), (owner, container["name"])
        for port in container.get("ports", []):
            assert len(port["name"]) <= 15, owner
            assert _DNS_LABEL.match(port["name"]), owner


def test_one_deployment_and_one_scaled_object_per_pool() -> None:
    deployments = _pool_deployments()
    assert deployments.keys() == POOLS
    scaled = [doc["spec"]["scaleTargetRef"]["name"] for doc in _of_kind("ScaledObject")]
    assert sorted(scaled) == sorted(d["metadata"]["name"] for d in deployments.values())


def test_scaled_objects_scale_their_pool_on_its_queue_length() -> None:
    deployments = _by_name("Deployment")
    authentications = _by_name("TriggerAuthentication")
    for scaled in _of_kind("ScaledObject"):
        spec = scaled["spec"]
        target = spec["scaleTargetRef"]
        assert target.get("kind", "Deployment") == "Deployment"
        assert target.get("apiVersion", "apps/v1") == "apps/v1"
        deployment = deployments[target["name"]]
        pool = deployment["spec"]["template"]["metadata"]["labels"][POOL_LABEL]
        assert 0 <= spec["minReplicaCount"] < spec["maxReplicaCount"], pool
        assert "cooldownPeriod" in spec, pool
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "rabbitmq"
        assert trigger["metadata"]["mode"] == "QueueLength"
        assert trigger["metadata"]["queueName"] == pool
        assert float(trigger["metadata"]["value"]) > 0
        assert trigger["authenticationRef"]["name"] in authentications
        assert "replicas" not in deployment["spec"], "KEDA owns a pool's replica count"


def test_keda_reads_the_broker_url_from_the_secret() -> None:
    (auth,) = _of_kind("TriggerAuthentication")
    refs = {ref["parameter"]: ref for ref in auth["spec"]["secretTargetRef"]}
    assert refs["host"] == {
        "parameter": "host",
        "name": SECRET_NAME,
        "key": "AGENTFLEET_BROKER_URL",
    }


def test_pools_consume_their_queue_and_stop_inside_the_grace_period() -> None:
    for pool, deployment in _pool_deployments().items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        command = container["command"]
        assert command[:2] == ["dramatiq", f"workers.pools.{pool}"], pool
        assert (REPO / "workers" / "pools" / f"{pool}.py").is_file(), pool
        assert _flag(command, "--queues") == pool
        shutdown_ms = int(_flag(command, "--worker-shutdown-timeout"))
        assert 0 < shutdown_ms < pod["terminationGracePeriodSeconds"] * 1000, pool
        # "comfortably": room for the process to exit after the workers give up
        assert pod["terminationGracePeriodSeconds"] * 1000 - shutdown_ms >= 15_000, pool


def test_probes_and_resources_everywhere() -> None:
    for owner, container in _containers():
        resources = container["resources"]
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= resources[kind].keys(), (owner, kind)
    for name, pod in _pod_specs():
        if pod.get("restartPolicy") in {"Never", "OnFailure"}:
            continue
        for container in pod["containers"]:
            for probe in ("livenessProbe", "readinessProbe"):
                assert container[probe]["httpGet"]["path"].startswith("/"), (name, probe)


def test_pool_relay_and_scheduler_probes_use_the_metrics_port() -> None:
    deployments = _by_name("Deployment")
    names = [d["metadata"]["name"] for d in _pool_deployments().values()]
    for name in [*names, "agentfleet-relay", "agentfleet-scheduler"]:
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        for probe in ("livenessProbe", "readinessProbe"):
            get = container[probe]["httpGet"]
            assert get["path"] == "/healthz", (name, probe)
            assert _port_number(container, get["port"]) == METRICS_PORT, (name, probe)


def test_api_deployment_service_hpa_and_budget() -> None:
    api = _by_name("Deployment")["agentfleet-api"]
    (container,) = api["spec"]["template"]["spec"]["containers"]
    assert container["command"][:2] == ["agentfleet", "api"]
    port = int(_flag(container["command"], "--port"))
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        assert container[probe]["httpGet"]["path"] == path
        assert _port_number(container, container[probe]["httpGet"]["port"]) == port
    assert "replicas" not in api["spec"], "the HPA owns the API's replica count"

    service = _by_name("Service")["agentfleet-api"]
    assert _selects(service["spec"]["selector"], api["spec"]["template"]["metadata"]["labels"])
    (service_port,) = service["spec"]["ports"]
    assert _port_number(container, service_port["targetPort"]) == port

    (hpa,) = _of_kind("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "agentfleet-api"
    assert hpa["spec"]["minReplicas"] >= 2
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"


def test_relay_and_scheduler_run_two_replicas() -> None:
    deployments = _by_name("Deployment")
    for name, command in (
        ("agentfleet-relay", ["agentfleet", "relay"]),
        ("agentfleet-scheduler", ["agentfleet", "scheduler"]),
    ):
        assert deployments[name]["spec"]["replicas"] == 2
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert container["command"] == command


def test_every_pod_template_is_locked_down() -> None:
    for name, pod in _pod_specs():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        tmp_volumes = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in tmp_volumes, name


def test_long_running_pods_are_scraped_by_prometheus() -> None:
    for deployment in _of_kind("Deployment"):
        template = deployment["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"
        ports = {p["containerPort"] for c in template["spec"]["containers"] for p in c["ports"]}
        assert int(annotations["prometheus.io/port"]) in ports
        assert template["metadata"]["labels"]["app.kubernetes.io/component"]


def test_no_hpa_on_pools() -> None:
    pool_names = {d["metadata"]["name"] for d in _pool_deployments().values()}
    for hpa in _of_kind("HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["name"] not in pool_names


def test_every_budget_selects_exactly_one_deployment() -> None:
    deployments = _of_kind("Deployment")
    guarded = set()
    for budget in _of_kind("PodDisruptionBudget"):
        selector = budget["spec"]["selector"]["matchLabels"]
        matches = [
            d["metadata"]["name"]
            for d in deployments
            if _selects(selector, d["spec"]["template"]["metadata"]["labels"])
        ]
        assert len(matches) == 1, (budget["metadata"]["name"], matches)
        guarded.add(matches[0])
    assert guarded == {d["metadata"]["name"] for d in deployments}


def test_deployment_selectors_match_their_templates() -> None:
    for deployment in _of_kind("Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert _selects(deployment["spec"]["selector"]["matchLabels"], labels)


def test_migration_job_runs_migrate_as_the_owner() -> None:
    (job,) = _of_kind("Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["agentfleet", "migrate"]
    env = {e["name"]: e for e in container["env"]}
    ref = env["AGENTFLEET_MIGRATION_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == SECRET_NAME


def test_secrets_are_only_referenced() -> None:
    assert not _of_kind("Secret"), "a Secret with values must not be applied from the repository"
    (example,) = load_yaml_documents(EXAMPLE_SECRET)
    example_keys = example["stringData"].keys()
    config_maps = _by_name("ConfigMap")
    service_accounts = _by_name("ServiceAccount")
    referenced = set()
    for owner, container in _containers():
        for source in container.get("envFrom", []):
            assert "secretRef" not in source, owner
            assert source["configMapRef"]["name"] in config_maps, owner
        for variable in container.get("env", []):
            name = variable["name"]
            if "value" in variable:
                assert name not in SECRET_SETTINGS, (owner, name)
                assert not _CREDENTIALS_IN_URL.search(variable["value"]), (owner, name)
                continue
            ref = variable["valueFrom"]["secretKeyRef"]
            assert ref["name"] == SECRET_NAME, (owner, name)
            assert ref["key"] in example_keys, (owner, ref["key"])
            referenced.add(ref["key"])
    for name, pod in _pod_specs():
        assert pod["serviceAccountName"] in service_accounts, name
    assert {"AGENTFLEET_DATABASE_URL", "AGENTFLEET_BROKER_URL", "AGENTFLEET_ENCRYPTION_KEY"} <= (
        referenced
    )


def test_config_map_holds_only_real_non_secret_settings() -> None:
    (config,) = _of_kind("ConfigMap")
    for key, value in config["data"].items():
        assert key in SETTINGS_ENV, key
        assert key not in SECRET_SETTINGS, key
        assert isinstance(value, str), key
        assert not _CREDENTIALS_IN_URL.search(value), key
    assert config["data"]["AGENTFLEET_METRICS_PORT"] == str(METRICS_PORT)


def test_example_secret_names_settings_and_holds_only_placeholders() -> None:
    (example,) = load_yaml_documents(EXAMPLE_SECRET)
    assert example["metadata"]["name"] == SECRET_NAME
    for key, value in example["stringData"].items():
        assert key in SETTINGS_ENV, key
        assert key in SECRET_SETTINGS, key
        assert "REPLACE_ME" in value or value == "[]", key
    assert example["stringData"].keys() >= SECRET_SETTINGS
