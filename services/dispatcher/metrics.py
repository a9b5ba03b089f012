"""Dispatcher's domain metrics."""

from prometheus_client import CollectorRegistry, Counter, Histogram

from shared.metrics import LATENCY_BUCKETS

__all__ = ["DispatcherMetrics"]


class DispatcherMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.dispatched = Counter(
            "suqiu_dispatcher_dispatched_total",
            "Work orders dispatched, by lead department and severity.",
            ["department", "severity"],
            registry=registry,
        )
        self.pipeline_latency = Histogram(
            "suqiu_pipeline_intake_to_dispatch_seconds",
            "Time from the channel receiving a complaint to its dispatch.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
