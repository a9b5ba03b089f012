"""Notifier's domain metrics."""

from prometheus_client import CollectorRegistry, Counter

__all__ = ["NotifierMetrics"]


class NotifierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.notifications = Counter(
            "suqiu_notifier_notifications_total",
            "Notifications by channel, event type and outcome "
            "(sent, held, failed, skipped, deduplicated).",
            ["channel", "event", "outcome"],
            registry=registry,
        )
