"""The Prometheus alert rules are valid, and every alert has a promtool unit test in which it
fires and one in which it stays silent; every runbook link points at a real section."""

from __future__ import annotations

import re
import subprocess

import pytest

from suqiu.shared.settings import REPO_ROOT
from tests.ops.helpers import DEPLOY, load_yaml, require_promtool

pytestmark = pytest.mark.unit

RULES = DEPLOY / "prometheus/rules.yml"
RULE_TESTS = DEPLOY / "prometheus/rules_test.yml"


def _alerts() -> list[dict]:
    return [r for g in load_yaml(RULES)["groups"] for r in g["rules"] if "alert" in r]


def test_promtool_check_rules() -> None:
    out = subprocess.run([require_promtool(), "check", "rules", str(RULES)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_promtool_unit_tests_pass() -> None:
    out = subprocess.run([require_promtool(), "test", "rules", RULE_TESTS.name],
                         capture_output=True, text=True, timeout=60, cwd=RULE_TESTS.parent)
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_alert_is_tested_firing_and_silent() -> None:
    fires: set[str] = set()
    silent: set[str] = set()
    for case in load_yaml(RULE_TESTS)["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {a["alert"] for a in _alerts()}
    required = {"SuqiuSlaBreachRateHigh", "SuqiuSlaWarningsPilingUp", "SuqiuQueueBacklog",
                "SuqiuQueueNoConsumer", "SuqiuDeadLetters", "SuqiuNotificationFailureRate",
                "SuqiuServiceDown", "SuqiuClassifierTriageRateHigh"}
    assert required <= names
    assert names - fires == set(), "alerts never shown firing"
    assert names - silent == set(), "alerts never shown staying silent"


def _anchors(path: str) -> set[str]:
    text = (REPO_ROOT / path).read_text(encoding="utf-8")
    return {re.sub(r"[^a-z0-9 -]", "", h.lower()).strip().replace(" ", "-")
            for h in re.findall(r"^#+\s+(.+)$", text, flags=re.M)}


def test_every_alert_has_severity_and_a_runbook_section() -> None:
    for alert in _alerts():
        assert alert["labels"]["severity"] in {"warning", "critical"}, alert["alert"]
        path, anchor = alert["annotations"]["runbook"].split("#", 1)
        assert path == "README.md" or path.startswith("docs/"), alert["alert"]
        assert anchor in _anchors(path), f"{alert['alert']}: no section #{anchor} in {path}"


def test_the_triage_alert_uses_the_triage_counter_not_a_copied_threshold() -> None:
    rules = {r.get("record") or r.get("alert"): r for g in load_yaml(RULES)["groups"]
             for r in g["rules"]}
    expr = rules["suqiu:classifier_triage_ratio:rate30m"]["expr"]
    assert "suqiu_classifier_triage_total" in expr and "le=" not in expr
