"""Notifier's domain metrics; labels are channel, event type, outcome, state: never addresses."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from suqiu.shared.metrics import LATENCY_BUCKETS

__all__ = ["NotifierMetrics"]


class NotifierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.notifications = Counter(
            "suqiu_notifier_notifications_total",
            "Notifications by channel, event type and outcome (sent, failed, skipped, held, "
            "retried, deduplicated, dead_lettered, released).",
            ["channel", "event", "outcome"],
            registry=registry,
        )
        self.send_seconds = Histogram(
            "suqiu_notifier_send_seconds",
            "Time one provider call took (successful or not).",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.waiting = Gauge(
            "suqiu_notifier_waiting_notifications",
            "Notifications waiting in the store: held (quiet hours, digests) or retrying.",
            ["state"],
            registry=registry,
        )
        self.reports = Counter(
            "suqiu_notifier_delivery_reports_total",
            "Provider delivery reports by channel and reported status.",
            ["channel", "status"],
            registry=registry,
        )

    def count(self, channel: str, event: str, outcome: str) -> None:
        self.notifications.labels(channel, event, outcome).inc()
