"""Every start-up or configuration error is one clear line naming the setting or file: one JSON
log line and exit code 3 for a service, one line on stderr and exit code 2 for the CLI.
The processes are started the way operators start them (the `suqiu` console script)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from suqiu.stack import free_port

pytestmark = pytest.mark.integration

SUQIU = str(Path(sys.executable).parent / "suqiu")
DOWN_BROKER = f"amqp://guest:guest@127.0.0.1:{free_port()}/"


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUQIU_")}
    env.update({"SUQIU_NAMESPACE": "t_startup_errors", "SUQIU_HTTP_HOST": "127.0.0.1"})
    env.update(extra)
    return env


def _run(args: list[str], extra: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([SUQIU, *args], env=_env(extra), input=stdin, capture_output=True,
                          text=True, timeout=120)


def _one_json_error(out: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert out.returncode == 3, (out.returncode, out.stderr[-2000:])
    errors = [json.loads(line) for line in out.stderr.splitlines()
              if line.strip() and json.loads(line)["level"] == "error"]
    assert len(errors) == 1, out.stderr
    assert "Traceback" not in out.stderr and errors[0]["event"] == "startup_failed"
    return errors[0]


@pytest.fixture(scope="module")
def bad_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "bad.yaml"
    path.write_text("departments: [\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("service", "variable", "value", "says"), [
    ("intake", "SUQIU_INTAKE_HTTP_PORT", "99999", "less than or equal to 65535"),
    ("intake", "SUQIU_QUEUE_TYPE", "fast", "quorum|classic"),
    ("classifier", "SUQIU_CLASSIFIER_MODEL_PATH", "/nonexistent/model", "/nonexistent/model"),
    ("dispatcher", "SUQIU_DISPATCHER_ROUTING_PATH", "/nonexistent/routing.yaml",
     "/nonexistent/routing.yaml"),
    ("dispatcher", "SUQIU_DISPATCHER_CREDENTIALS", "[]", "JSON object"),
    ("sla_monitor", "SUQIU_SLA_SCAN_INTERVAL_S", "-1", "greater than 0"),
    ("sla_monitor", "SUQIU_LOG_LEVEL", "LOUD", "SUQIU_LOG_LEVEL"),
    ("notifier", "SUQIU_NOTIFIER_CONFIG_PATH", "BAD", "cannot read notifier config"),
])
def test_a_service_with_a_bad_setting_or_file_logs_one_line_and_exits_3(
        service: str, variable: str, value: str, says: str, bad_yaml: Path) -> None:
    value = str(bad_yaml) if value == "BAD" else value
    error = _one_json_error(_run(["run", service], {variable: value}))
    assert error["setting"] == variable or variable in error["setting"], error
    assert says in error["problem"] or says in error["setting"], error
    assert error["service"] == service


@pytest.mark.parametrize("service", ["intake", "classifier", "dispatcher", "sla_monitor", "notifier"])
def test_a_bad_catalogue_stops_every_service_with_one_line(service: str, bad_yaml: Path) -> None:
    error = _one_json_error(_run(["run", service], {"SUQIU_CATALOGUE_PATH": str(bad_yaml)}))
    assert error["setting"] == "SUQIU_CATALOGUE_PATH" and str(bad_yaml) in error["problem"]


def test_an_unreachable_broker_at_start_is_one_line_naming_amqp_url(mongo_url: str) -> None:
    out = _run(["run", "dispatcher"], {"AMQP_URL": DOWN_BROKER, "MONGO_URL": mongo_url,
                                       "SUQIU_DISPATCHER_HTTP_PORT": "0"})
    error = _one_json_error(out)
    assert error["setting"] == "AMQP_URL" and "not reachable" in error["problem"]
    assert "guest" not in out.stderr  # the URL's credentials are never logged


def _one_cli_line(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("suqiu: error: "), out.stderr
    return lines[0]


def test_classify_with_a_missing_catalogue(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    line = _one_cli_line(_run(["classify", "--catalogue", str(missing)], {},
                              stdin='{"text": "路灯坏了"}\n'))
    assert str(missing) in line and "No such file" in line


def test_classify_with_a_bad_catalogue(bad_yaml: Path) -> None:
    line = _one_cli_line(_run(["classify", "--catalogue", str(bad_yaml)], {},
                              stdin='{"text": "路灯坏了"}\n'))
    assert str(bad_yaml) in line and "cannot read catalogue" in line


def test_dlq_list_with_the_broker_down() -> None:
    line = _one_cli_line(_run(["dlq", "list"], {"AMQP_URL": DOWN_BROKER}))
    assert "AMQP_URL" in line and "not reachable" in line


def test_up_with_a_replica_count_that_is_not_a_number(tmp_path: Path) -> None:
    line = _one_cli_line(_run(["up", "--replicas", "classifier=two"],
                              {"SUQIU_RUN_DIR": str(tmp_path)}))
    assert "--replicas" in line and "classifier=two" in line
    assert not (tmp_path / "stack.json").exists()


def test_version() -> None:
    out = _run(["--version"], {})
    assert out.returncode == 0 and out.stdout.startswith("suqiu 0.")
