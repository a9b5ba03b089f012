"""Where a dead letter came from and why, for both ways a message reaches a DLQ; which
headers a replay keeps; and the PromQL name extraction the dashboard test relies on."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from suqiu.dlq import DeadLetter, replay_headers
from tests.ops.promql import metric_names

pytestmark = pytest.mark.unit


def _msg(headers: dict[str, Any], message_id: str = "m-1") -> Any:
    return SimpleNamespace(headers=headers, message_id=message_id, body=b"{}")


def test_refused_by_the_service() -> None:
    letter = DeadLetter.from_message(_msg({
        "x-suqiu-error-reason": "validation_failed",
        "x-suqiu-error-detail": '[{"field": "content", "reason": "missing"}]',
        "x-suqiu-original-queue": "suqiu.intake.work",
        "x-suqiu-original-exchange": "suqiu.intake",
        "x-suqiu-original-routing-key": "intake.web",
        "x-suqiu-rejected-at": "2026-11-23T09:00:00+00:00",
        "x-suqiu-ticket-no": "SQ1",
    }))
    assert (letter.reason, letter.exchange, letter.routing_key, letter.original_queue) == (
        "validation_failed", "suqiu.intake", "intake.web", "suqiu.intake.work")
    assert "content" in (letter.detail or "")
    assert letter.original_headers() == {"x-suqiu-ticket-no": "SQ1"}


def test_dead_lettered_by_the_broker_after_the_delivery_limit() -> None:
    death = {"count": 5, "reason": "delivery_limit", "queue": "suqiu.classifier.work",
             "time": datetime(2026, 11, 23, tzinfo=UTC), "exchange": b"suqiu.events",
             "routing-keys": [b"ticket.received"]}
    letter = DeadLetter.from_message(_msg({
        "x-death": [death], "x-first-death-reason": "delivery_limit",
        "x-first-death-queue": "suqiu.classifier.work", "x-first-death-exchange": "suqiu.events",
        "x-delivery-count": 5, "x-suqiu-ticket-no": "SQ2",
    }))
    assert (letter.reason, letter.exchange, letter.routing_key, letter.original_queue) == (
        "delivery_limit", "suqiu.events", "ticket.received", "suqiu.classifier.work")
    assert letter.dead_lettered_at and letter.dead_lettered_at.startswith("2026-11-23")
    assert letter.original_headers() == {"x-suqiu-ticket-no": "SQ2"}


def test_replay_keeps_only_the_messages_own_headers() -> None:
    assert replay_headers({"x-death": [], "x-first-death-queue": "q", "x-last-death-reason": "r",
                           "x-suqiu-error-reason": "e", "x-suqiu-rejected-by": "intake",
                           "x-suqiu-original-queue": "q", "x-delivery-count": 2,
                           "traceparent": "00-abc", "x-suqiu-ticket-no": "SQ3"}) == {
        "traceparent": "00-abc", "x-suqiu-ticket-no": "SQ3"}


@pytest.mark.parametrize(("expr", "names"), [
    ('sum by (channel) (rate(suqiu_intake_tickets_total{outcome="created"}[$__rate_interval]))',
     {"suqiu_intake_tickets_total"}),
    ("histogram_quantile(0.95, sum by (le) (rate(a_seconds_bucket[5m])))", {"a_seconds_bucket"}),
    ("suqiu:sla_breach_ratio:1h > 0.05 and suqiu:sla_breaches:rate1h > 0",
     {"suqiu:sla_breach_ratio:1h", "suqiu:sla_breaches:rate1h"}),
    ('x / on (channel) group_left sum without (le) (y{a="b"} offset 5m)', {"x", "y"}),
    ('absent(up{job="suqiu",service="intake"})', {"up"}),
])
def test_metric_names_of_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names
