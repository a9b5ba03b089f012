"""deploy/k8s agrees with the code: one Deployment per service running `suqiu run <service>`
with liveness on /healthz and readiness on /readyz at the settings' port, resources, settings
the code reads, secrets only by reference, a PodDisruptionBudget, and a KEDA ScaledObject on
the service's real work queue. Structure is checked without a cluster (no kubectl here)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.settings import CommonSettings
from shared.topology import SERVICES, Topology
from tests.ops.helpers import DEPLOY, load_yaml, load_yaml_all
from tests.ops.settings_env import service_env_names, settings_class

pytestmark = pytest.mark.unit

KUSTOMIZATION = load_yaml(DEPLOY / "kustomization.yaml")
DOCS: list[dict[str, Any]] = [d for path in KUSTOMIZATION["resources"]
                              for d in load_yaml_all(DEPLOY / path)]
REQUIRED = {"Deployment": ("apps/v1", "spec.template.spec.containers"),
            "PodDisruptionBudget": ("policy/v1", "spec.selector.matchLabels"),
            "ScaledObject": ("keda.sh/v1alpha1", "spec.triggers"),
            "ConfigMap": ("v1", "data"), "Service": ("v1", "spec.ports")}


def _get(doc: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        doc = doc[part]
    return doc


def _of(kind: str, service: str) -> dict[str, Any]:
    found = [d for d in DOCS if d["kind"] == kind
             and d["metadata"]["labels"].get("app.kubernetes.io/component") == service]
    assert len(found) == 1, f"expected one {kind} for {service}, found {len(found)}"
    return found[0]


def test_documents_are_well_formed_and_nothing_secret_is_inlined() -> None:
    for doc in DOCS:
        api, required = REQUIRED[doc["kind"]]
        assert doc["apiVersion"] == api and doc["metadata"]["name"], doc
        assert _get(doc, required)
    assert not [d for d in DOCS if d["kind"] == "Secret"], "Secrets must not be committed"
    for path in KUSTOMIZATION["resources"]:
        assert (DEPLOY / path).exists()
    generated = KUSTOMIZATION["configMapGenerator"][0]
    assert generated["name"] == "suqiu-config"
    assert "config/catalogue.yaml" in generated["files"]
    for path in generated["files"]:
        assert (DEPLOY / path).exists(), f"configMapGenerator file {path} missing"


@pytest.mark.parametrize("service", SERVICES)
def test_deployment_matches_the_code(service: str) -> None:
    deployment = _of("Deployment", service)
    pod = deployment["spec"]["template"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    (container,) = pod["spec"]["containers"]
    assert container["command"] == ["suqiu", "run", service]
    port = settings_class(service)().http_port  # type: ignore[attr-defined]
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])
    assert pod["spec"]["terminationGracePeriodSeconds"] > CommonSettings().graceful_timeout

    known = service_env_names(service)
    config = next(d for d in DOCS if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "suqiu-env")
    assert container["envFrom"] == [{"configMapRef": {"name": "suqiu-env"}}]
    assert set(config["data"]) <= set(known), set(config["data"]) - set(known)
    env = {e["name"]: e for e in container["env"]}
    assert set(env) <= set(known), set(env) - set(known)
    http_port_env = next(k for k, v in known.items() if v == "http_port"
                         and k.startswith(settings_class(service).model_config["env_prefix"]))
    assert env[http_port_env]["value"] == str(port)
    for name in ("AMQP_URL", "MONGO_URL"):
        assert "value" not in env[name] and env[name]["valueFrom"]["secretKeyRef"]["name"] == \
            "suqiu-secrets"
    for e in env.values():  # anything secret-looking is a reference, never a literal
        if any(w in e["name"] for w in ("KEY", "PASSWORD", "TOKEN", "SECRET")):
            assert "valueFrom" in e, e["name"]


@pytest.mark.parametrize("service", SERVICES)
def test_pdb_and_keda_scaled_object(service: str) -> None:
    deployment = _of("Deployment", service)
    pdb = _of("PodDisruptionBudget", service)
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["minAvailable"] == 1

    scaled = _of("ScaledObject", service)
    assert scaled["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert 1 <= scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"]
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "rabbitmq"
    meta = trigger["metadata"]
    config = next(d for d in DOCS if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "suqiu-env")
    namespace = config["data"]["SUQIU_NAMESPACE"]
    assert meta["queueName"] == Topology(namespace).work_queue(service).name
    assert meta["mode"] == "QueueLength" and int(meta["value"]) > 0
    env = {e["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert meta["hostFromEnv"] in env
