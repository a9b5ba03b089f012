"""Prometheus registry per process, FastStream's middleware, and transport-level counters."""

from __future__ import annotations

from faststream.rabbit.prometheus import RabbitPrometheusMiddleware
from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["ConsumerMetrics", "new_registry", "prometheus_middleware"]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


def new_registry() -> CollectorRegistry:
    """One registry per service process (no global state shared between tests)."""
    return CollectorRegistry(auto_describe=True)


def prometheus_middleware(registry: CollectorRegistry, service: str) -> RabbitPrometheusMiddleware:
    """FastStream's transport metrics: received, processed, published, durations."""
    return RabbitPrometheusMiddleware(registry=registry, app_name=service)


class ConsumerMetrics:
    """What happened to each consumed message, by service and outcome."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self._service = service
        self.outcomes = Counter(
            "suqiu_consumer_messages_total",
            "Consumed messages by outcome (ok, duplicate, rejected, retried).",
            ["service", "queue", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "suqiu_consumer_handle_seconds",
            "Time to handle one message, including its writes and publishes.",
            ["service", "queue"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def outcome(self, queue: str, outcome: str) -> None:
        self.outcomes.labels(self._service, queue, outcome).inc()
