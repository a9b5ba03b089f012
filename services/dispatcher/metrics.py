"""Dispatcher's domain metrics (no personal data in labels)."""

from prometheus_client import CollectorRegistry, Counter, Histogram

from suqiu.shared.metrics import LATENCY_BUCKETS

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
        self.triaged = Counter(
            "suqiu_dispatcher_triaged_total",
            "Classified orders that no rule could route: they wait in the triage queue.",
            registry=registry,
        )
        self.commands = Counter(
            "suqiu_dispatcher_commands_total",
            "Lifecycle commands applied, by action and role.",
            ["action", "role"],
            registry=registry,
        )
        self.refused = Counter(
            "suqiu_dispatcher_commands_refused_total",
            "Lifecycle commands refused, by action and reason code.",
            ["action", "code"],
            registry=registry,
        )
        self.conflicts = Counter(
            "suqiu_dispatcher_version_conflicts_total",
            "Saves that lost an optimistic-concurrency race.",
            registry=registry,
        )
        self.mass_merged = Counter(
            "suqiu_dispatcher_mass_incidents_merged_total",
            "Mass-incident clusters merged (or grown) under a master order.",
            registry=registry,
        )
        self.swept = Counter(
            "suqiu_dispatcher_outbox_swept_total",
            "Outbox entries left pending (e.g. by a crash) that the sweeper published.",
            registry=registry,
        )
        self.http = Counter(
            "suqiu_dispatcher_http_requests_total",
            "Department / supervisor API requests, by endpoint and status code.",
            ["endpoint", "status"],
            registry=registry,
        )
