"""deploy/compose.yaml agrees with the code: commands name real services, every environment
variable is one the settings read and its value validates, ports match the settings, and
the supporting files (Prometheus, Grafana, RabbitMQ) it mounts exist and are consistent.
No Docker engine is needed: the file is parsed, not run."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from suqiu.shared.settings import CommonSettings
from suqiu.shared.topology import SERVICES
from tests.ops.helpers import DEPLOY, load_yaml, require_promtool
from tests.ops.settings_env import service_env_names, settings_class

pytestmark = pytest.mark.unit

COMPOSE = load_yaml(DEPLOY / "compose.yaml")
SUQIU = {name.replace("-", "_"): spec for name, spec in COMPOSE["services"].items()
         if spec.get("image", "").startswith("suqiu:")}
# Every service the image runs: the pipeline's (topology SERVICES, each with a work queue and a
# prefetch) and the console (the staff's web UI, not in SERVICES).
DEPLOYED = (*SERVICES, "console")


def _settings(service: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    for key in list(service_env_names(service)):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    return CommonSettings(), settings_class(service)()


def test_every_service_is_in_compose_with_its_command() -> None:
    assert set(SUQIU) == set(DEPLOYED)
    for service, spec in SUQIU.items():
        assert spec["command"] == ["suqiu", "run", service]


@pytest.mark.parametrize("service", DEPLOYED)
def test_environment_is_read_by_the_settings_and_valid(
        service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = SUQIU[service]["environment"]
    unknown = set(env) - set(service_env_names(service))
    assert not unknown, f"{service}: variables no settings class reads: {sorted(unknown)}"
    secret_looking = [k for k in env if any(w in k for w in ("KEY", "PASSWORD", "TOKEN", "SECRET"))]
    assert not secret_looking, f"{service}: secrets belong in an env_file, not in compose.yaml"
    common, own = _settings(service, env, monkeypatch)  # validates every value
    assert common.http_host == "0.0.0.0"
    assert "@rabbitmq:" in common.amqp_url and "mongo:27017" in common.mongo_url
    assert str(common.catalogue_path).startswith("/etc/suqiu/")
    if service in SERVICES:
        assert own.prefetch >= 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("service", DEPLOYED)
def test_ports_healthchecks_and_dependencies(service: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    spec = SUQIU[service]
    common, own = _settings(service, spec["environment"], monkeypatch)
    port = own.http_port  # type: ignore[attr-defined]
    probe = " ".join(spec["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/readyz" in probe, probe
    assert spec["depends_on"] == {"rabbitmq": {"condition": "service_healthy"},
                                  "mongo": {"condition": "service_healthy"}}
    grace = re.fullmatch(r"(\d+)s", spec["stop_grace_period"])
    assert grace and int(grace.group(1)) > common.graceful_timeout
    # Prometheus scrapes every replica of this service on that port.
    prom = load_yaml(DEPLOY / "prometheus/prometheus.yml")
    job = next(j for j in prom["scrape_configs"] if j["job_name"] == "suqiu")
    compose_name = next(n for n in COMPOSE["services"] if n.replace("-", "_") == service)
    assert {"names": [compose_name], "type": "A", "port": port,
            "refresh_interval": "15s"} in job["dns_sd_configs"]
    # ... and SuqiuServiceMissing fires when it has no target at all.
    rules = load_yaml(DEPLOY / "prometheus/rules.yml")
    missing = next(r for g in rules["groups"] for r in g["rules"]
                   if r.get("alert") == "SuqiuServiceMissing")
    assert f'absent(up{{job="suqiu",service="{service}"}})' in missing["expr"]


def test_infrastructure_services_are_healthchecked_and_mounts_exist() -> None:
    services = COMPOSE["services"]
    for name in ("rabbitmq", "mongo", "prometheus", "grafana"):
        assert services[name].get("healthcheck"), name
    assert "--replSet" in services["mongo"]["command"]
    assert services["mongo"]["image"].startswith("mongo:7")
    for spec in services.values():
        for volume in spec.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), f"compose mounts missing {source}"
    conf = (DEPLOY / "rabbitmq/rabbitmq.conf").read_text(encoding="utf-8")
    assert "prometheus.return_per_object_metrics = true" in conf
    plugins = (DEPLOY / "rabbitmq/enabled_plugins").read_text(encoding="utf-8")
    assert "rabbitmq_prometheus" in plugins and "rabbitmq_management" in plugins


def test_prometheus_config_is_valid(tmp_path: Path) -> None:
    promtool = require_promtool()
    text = (DEPLOY / "prometheus/prometheus.yml").read_text(encoding="utf-8")
    (tmp_path / "rules.yml").write_text(
        (DEPLOY / "prometheus/rules.yml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "prometheus.yml").write_text(
        text.replace("/etc/prometheus/rules.yml", str(tmp_path / "rules.yml")), encoding="utf-8")
    out = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def _compose_variables() -> set[str]:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    return set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))


def test_credentials_come_from_the_uncommitted_env_file() -> None:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    assert "suqiu:suqiu@" not in text and ":-admin}" not in text
    assert "loopback_users" not in (DEPLOY / "rabbitmq/rabbitmq.conf").read_text(encoding="utf-8")
    example = dict(line.split("=", 1) for line in
                   (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines()
                   if line and not line.startswith("#"))
    assert _compose_variables() <= set(example), _compose_variables() - set(example)
    for name in _compose_variables():  # required, never a silent default
        assert re.search(rf"\$\{{{name}:\?", text), name
    ignored = subprocess.run(["git", "check-ignore", "-q", str(DEPLOY / ".env")], cwd=DEPLOY)
    assert ignored.returncode == 0, "deploy/.env must be ignored by git"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(DEPLOY / ".env.example")], cwd=DEPLOY)
    assert ignored.returncode == 1, "deploy/.env.example must be committed"


def test_mongo_authenticates_and_runs_a_replica_set_unpublished() -> None:
    mongo = COMPOSE["services"]["mongo"]
    assert {"--replSet", "--auth", "--keyFile"} <= set(mongo["command"])
    assert "ports" not in mongo
    assert mongo["environment"]["MONGO_INITDB_ROOT_PASSWORD"].startswith("${")
    for service in SUQIU.values():
        url = service["environment"]["MONGO_URL"]
        assert "${MONGO_APP_PASSWORD" in url and "replicaSet=rs0" in url


def test_grafana_prometheus_and_alertmanager_are_locked_down() -> None:
    services = COMPOSE["services"]
    grafana = services["grafana"]["environment"]
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    assert not any("lifecycle" in arg for arg in services["prometheus"]["command"])
    prom = load_yaml(DEPLOY / "prometheus/prometheus.yml")
    targets = prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["alertmanager:9093"]
    manager = load_yaml(DEPLOY / "alertmanager/alertmanager.yml")
    receivers = {r["name"]: r for r in manager["receivers"]}
    assert receivers[manager["route"]["receiver"]]["webhook_configs"][0]["url_file"]
    secret = services["alertmanager"]["secrets"][0]
    assert secret["target"] == receivers[manager["route"]["receiver"]]["webhook_configs"][0]["url_file"]


@pytest.mark.parametrize(("service", "port"), [("intake", 8101), ("dispatcher", 8103),
                                               ("notifier", 8105)])
def test_http_apis_are_published_one_host_port_per_replica(service: str, port: int) -> None:
    spec = SUQIU[service]
    (mapping,) = spec["ports"]
    hosts, container = mapping.rsplit(":", 1)
    low, high = (int(p) for p in hosts.split("-"))
    assert int(container) == port and high - low + 1 == spec["deploy"]["replicas"]


def test_department_credentials_reach_the_dispatcher() -> None:
    spec = SUQIU["dispatcher"]
    (secret,) = spec["secrets"]
    assert spec["environment"]["SUQIU_DISPATCHER_CREDENTIALS_FILE"] == secret["target"]
    source = COMPOSE["secrets"][secret["source"]]["file"]
    assert (DEPLOY / (source.removeprefix("./") + ".example")).exists()
    example = json.loads((DEPLOY / (source.removeprefix("./") + ".example")).read_text("utf-8"))
    from suqiu.services.dispatcher.auth import load_credentials
    from suqiu.shared.catalogue import load_catalogue
    known = {d.id for d in load_catalogue(DEPLOY / "config/catalogue.yaml").departments}
    assert load_credentials(json.dumps(example), None, known).tokens


def test_services_run_hardened() -> None:
    for service, spec in SUQIU.items():
        assert spec["read_only"] is True and spec["tmpfs"] == ["/tmp"], service
        assert spec["cap_drop"] == ["ALL"], service


def _env_file(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_console_is_published_and_its_secrets_come_from_console_env(
        monkeypatch: pytest.MonkeyPatch) -> None:
    spec = SUQIU["console"]
    assert spec["ports"] == ["8106:8106"]
    assert spec["environment"]["SUQIU_CONSOLE_DISPATCHER_URL"] == "http://dispatcher:8103"
    assert SUQIU["dispatcher"]["environment"]["SUQIU_DISPATCHER_HTTP_PORT"] == "8103"
    (env_file,) = spec["env_file"]
    assert env_file == {"path": "./console.env", "required": True}
    ignored = subprocess.run(["git", "check-ignore", "-q", str(DEPLOY / "console.env")], cwd=DEPLOY)
    assert ignored.returncode == 0, "deploy/console.env must be ignored by git"
    example = _env_file(DEPLOY / "console.env.example")
    assert set(example) == {"SUQIU_CONSOLE_SESSION_SECRET", "SUQIU_CONSOLE_DISPATCHER_TOKENS",
                            "SUQIU_CONSOLE_INDEX_SALT"}
    _, console = _settings("console", {**spec["environment"], **example}, monkeypatch)
    assert len(console.secret()) >= 32 and console.tokens()  # type: ignore[attr-defined]
    assert console.index_salt  # type: ignore[attr-defined]


def test_the_dispatcher_accepts_the_console_s_tokens() -> None:
    """Each token in console.env.example is in the credentials file compose mounts for the
    dispatcher, as the role (operator, supervisor) or the department it is named after."""
    from suqiu.services.console.settings import ConsoleSettings

    raw = _env_file(DEPLOY / "console.env.example")["SUQIU_CONSOLE_DISPATCHER_TOKENS"]
    tokens = ConsoleSettings(dispatcher_tokens=raw).tokens()
    assert {"operator", "supervisor"} <= set(tokens)
    (secret,) = SUQIU["dispatcher"]["secrets"]
    source = COMPOSE["secrets"][secret["source"]]["file"]
    credentials = json.loads((DEPLOY / (source.removeprefix("./") + ".example")).read_text("utf-8"))
    for name, token in tokens.items():
        assert token in credentials, name
        principal = credentials[token]
        assert name in (principal["department"], principal.get("role")), (name, principal)
        if name not in ("operator", "supervisor"):
            assert principal.get("role", "department") == "department", name
