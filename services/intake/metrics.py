"""Intake's domain metrics (labels carry channels and reason codes, never personal data)."""

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["IntakeMetrics"]

_NORMALISE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class IntakeMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.tickets = Counter(
            "suqiu_intake_tickets_total",
            "Intake messages by channel and outcome (created, invalid, linked, duplicate).",
            ["channel", "outcome"], registry=registry)
        self.received = Counter(
            "suqiu_intake_received_total", "Intake messages received, by channel.",
            ["channel"], registry=registry)
        self.rejected = Counter(
            "suqiu_intake_rejected_total", "Intake messages rejected as bad input, by channel and reason.",
            ["channel", "reason"], registry=registry)
        self.duplicates = Counter(
            "suqiu_intake_duplicates_total",
            "Duplicates: redelivered (same channel message id) or linked (near-duplicate).",
            ["channel", "kind"], registry=registry)
        self.invalid = Counter(
            "suqiu_intake_invalid_total", "Orders found invalid, by channel and reason.",
            ["channel", "reason"], registry=registry)
        self.revalidated = Counter(
            "suqiu_intake_revalidated_total", "Invalid orders an operator turned valid.",
            registry=registry)
        self.normalise_seconds = Histogram(
            "suqiu_intake_normalise_seconds", "Time to normalise and triage one message (pure code).",
            ["channel"], buckets=_NORMALISE_BUCKETS, registry=registry)
        self.http = Counter(
            "suqiu_intake_http_requests_total", "Open311 and status API requests by endpoint and status.",
            ["endpoint", "status"], registry=registry)
