"""Intake's domain metrics."""

from prometheus_client import CollectorRegistry, Counter

__all__ = ["IntakeMetrics"]


class IntakeMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.tickets = Counter(
            "suqiu_intake_tickets_total",
            "Intake messages by channel and outcome (created, duplicate).",
            ["channel", "outcome"],
            registry=registry,
        )
