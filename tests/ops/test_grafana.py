"""The Grafana dashboard is well formed and provisioned the way compose mounts it; the panels
the issue asks for are there. (Metric names are checked against a live scrape in
test_live_stack.py.)"""

from __future__ import annotations

import json

import pytest

from tests.ops.helpers import DEPLOY, load_yaml

pytestmark = pytest.mark.unit

DASHBOARD = json.loads((DEPLOY / "grafana/dashboards/suqiu.json").read_text(encoding="utf-8"))


def test_panels_are_well_formed() -> None:
    panels = DASHBOARD["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for p in panels:
        assert p["title"] and p["targets"], p
        assert {"x", "y", "w", "h"} <= set(p["gridPos"]) and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
        assert len({t["refId"] for t in p["targets"]}) == len(p["targets"])
        for t in p["targets"]:
            assert t["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_required_views_are_present() -> None:
    exprs = " ".join(t["expr"] for p in DASHBOARD["panels"] for t in p["targets"])
    for needle in ("suqiu_intake_tickets_total", "suqiu_pipeline_intake_to_dispatch_seconds_bucket",
                   "rabbitmq_queue_messages_ready", "suqiu_sla_events_total",
                   "suqiu_sla_open_deadlines", "suqiu_notifier_notifications_total",
                   "suqiu_classifier_confidence_bucket", "suqiu:classifier_triage_ratio:rate30m"):
        assert needle in exprs, needle


def test_provisioning_matches_compose_mounts() -> None:
    (source,) = load_yaml(DEPLOY / "grafana/provisioning/datasources/prometheus.yaml")["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    variable = next(v for v in DASHBOARD["templating"]["list"] if v["name"] == "datasource")
    assert variable["current"]["value"] == source["uid"]
    (provider,) = load_yaml(DEPLOY / "grafana/provisioning/dashboards/suqiu.yaml")["providers"]
    grafana = load_yaml(DEPLOY / "compose.yaml")["services"]["grafana"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in grafana["volumes"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
