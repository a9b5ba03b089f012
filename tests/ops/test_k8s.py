"""deploy/k8s agrees with the code: one Deployment per service running `suqiu run <service>`
with liveness on /healthz and readiness on /readyz at the settings' port, resources, settings
the code reads, secrets only by reference, a PodDisruptionBudget, and a KEDA ScaledObject on
the service's real work queue. Every manifest is validated offline and strictly against the
Kubernetes schema (kubernetes-validate), and every pod passes Pod Security "restricted"."""

from __future__ import annotations

from typing import Any

import pytest

from suqiu.shared.settings import CommonSettings
from suqiu.shared.topology import SERVICES, Topology
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
K8S_VERSION = "1.30.0"
SECRETS_EXAMPLE = load_yaml_all(DEPLOY / "k8s/secrets.example.yaml")
# Every service the image runs: the pipeline's (topology SERVICES, scaled by KEDA on their
# work queues) and the console (the staff's web UI: a fixed replica count, no KEDA).
DEPLOYED = (*SERVICES, "console")


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


@pytest.mark.parametrize("service", DEPLOYED)
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
    assert container["envFrom"][0] == {"configMapRef": {"name": "suqiu-env"}}
    assert all(e["secretRef"]["name"].startswith("suqiu-") for e in container["envFrom"][1:])
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


def _generated_config_map() -> dict[str, Any]:
    """The ConfigMap kustomize generates from deploy/config (kustomize is not installed here)."""
    files = KUSTOMIZATION["configMapGenerator"][0]["files"]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "suqiu-config"},
            "data": {f.rsplit("/", 1)[-1]: (DEPLOY / f).read_text(encoding="utf-8") for f in files}}


def test_every_manifest_validates_strictly_against_the_kubernetes_schema() -> None:
    import kubernetes_validate

    builtin = [d for d in [*DOCS, *SECRETS_EXAMPLE, _generated_config_map()]
               if d["kind"] != "ScaledObject"]  # a KEDA CRD: checked field by field below
    for doc in builtin:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message} at "
                        f"{'.'.join(str(p) for p in exc.path)}")
    bad = {"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "x"},
           "spec": {"selector": {}, "template": {"spec": {"containers": [], "bogus": 1}}}}
    with pytest.raises(kubernetes_validate.ValidationError):  # strict: unknown fields fail
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


@pytest.mark.parametrize("service", DEPLOYED)
def test_pods_pass_pod_security_restricted(service: str) -> None:
    pod = _of("Deployment", service)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    allowed_volumes = {"configMap", "secret", "emptyDir", "projected", "persistentVolumeClaim"}
    for volume in pod["volumes"]:
        assert set(volume) - {"name"} <= allowed_volumes, volume
    for container in pod["containers"]:
        ctx = container["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        assert ctx["readOnlyRootFilesystem"] is True and ctx["runAsNonRoot"] is True
        assert ctx.get("seccompProfile", {"type": "RuntimeDefault"})["type"] == "RuntimeDefault"
        assert not ctx.get("privileged")
        assert {m["mountPath"] for m in container["volumeMounts"]} >= {"/tmp", "/etc/suqiu"}


@pytest.mark.parametrize("service", DEPLOYED)
def test_every_http_api_has_a_service(service: str) -> None:
    deployment = _of("Deployment", service)
    svc = _of("Service", service)
    assert svc["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    port = settings_class(service)().http_port  # type: ignore[attr-defined]
    assert svc["spec"]["ports"] == [{"name": "http", "port": port, "targetPort": "http"}]


def test_configuration_files_the_pods_read_are_in_the_config_map() -> None:
    shipped = set(_generated_config_map()["data"])
    for doc in DOCS:
        if doc["kind"] != "Deployment":
            continue
        (container,) = doc["spec"]["template"]["spec"]["containers"]
        config = next(d for d in DOCS if d["kind"] == "ConfigMap")
        values = [*config["data"].values(), *(e.get("value", "") for e in container["env"])]
        for value in values:
            if str(value).startswith("/etc/suqiu/"):
                assert value.removeprefix("/etc/suqiu/") in shipped, (doc["metadata"]["name"], value)
    assert {"catalogue.yaml", "routing.yaml", "notifier.yaml", "sla.yaml"} <= shipped


def test_every_secret_reference_exists_in_the_example() -> None:
    keys = {(s["metadata"]["name"], k) for s in SECRETS_EXAMPLE for k in s["stringData"]}
    names = {s["metadata"]["name"] for s in SECRETS_EXAMPLE}
    for doc in DOCS:
        if doc["kind"] != "Deployment":
            continue
        pod = doc["spec"]["template"]["spec"]
        for env in pod["containers"][0]["env"]:
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert (ref["name"], ref["key"]) in keys, ref
        for source in pod["containers"][0]["envFrom"][1:]:
            assert source["secretRef"]["name"] in names
        for volume in pod["volumes"]:
            if "secret" in volume:
                assert volume["secret"]["secretName"] in names
    provider = {k for s in SECRETS_EXAMPLE if s["metadata"]["name"] == "suqiu-notifier-providers"
                for k in s["stringData"]}
    assert {"sms-api-key", "smtp-password", "wechat-access-token"} <= provider
    notifier = _of("Deployment", "notifier")["spec"]["template"]["spec"]["containers"][0]
    assert {"secretRef": {"name": "suqiu-webhook-secrets", "optional": True}} in notifier["envFrom"]
    dispatcher = _of("Deployment", "dispatcher")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in dispatcher["env"]}
    assert env["SUQIU_DISPATCHER_CREDENTIALS_FILE"].startswith("/run/secrets/suqiu/")


def test_the_console_runs_a_fixed_replica_count_with_its_secrets_by_reference() -> None:
    deployment = _of("Deployment", "console")
    assert deployment["spec"]["replicas"] >= 2
    assert not [d for d in DOCS if d["kind"] in ("ScaledObject", "HorizontalPodAutoscaler")
                and d["metadata"]["labels"].get("app.kubernetes.io/component") == "console"]
    pdb = _of("PodDisruptionBudget", "console")
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["minAvailable"] == 1
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    for name in ("SUQIU_CONSOLE_SESSION_SECRET", "SUQIU_CONSOLE_DISPATCHER_TOKENS",
                 "SUQIU_CONSOLE_INDEX_SALT"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "suqiu-secrets", name
    dispatcher = _of("Service", "dispatcher")
    port = settings_class("dispatcher")().http_port  # type: ignore[attr-defined]
    assert dispatcher["spec"]["ports"][0]["port"] == port
    assert env["SUQIU_CONSOLE_DISPATCHER_URL"]["value"] == \
        f"http://{dispatcher['metadata']['name']}:{port}"
    assert env["SUQIU_CONSOLE_COOKIE_SECURE"]["value"] == "true"


def test_the_example_secrets_let_the_dispatcher_accept_the_console_s_tokens() -> None:
    import json

    from suqiu.services.console.settings import ConsoleSettings

    secrets = {s["metadata"]["name"]: s["stringData"] for s in SECRETS_EXAMPLE}
    console = ConsoleSettings(
        session_secret=secrets["suqiu-secrets"]["console-session-secret"],
        dispatcher_tokens=secrets["suqiu-secrets"]["console-dispatcher-tokens"])
    assert len(console.secret()) >= 32
    tokens = console.tokens()
    assert {"operator", "supervisor"} <= set(tokens)
    credentials = json.loads(
        secrets["suqiu-department-credentials"]["department-credentials.json"])
    for name, token in tokens.items():
        assert token in credentials, name
        assert name in (credentials[token]["department"], credentials[token].get("role")), name
