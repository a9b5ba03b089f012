"""SLA monitor's domain metrics."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["SlaMetrics"]


class SlaMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.scheduled = Counter(
            "suqiu_sla_timers_scheduled_total", "SLA timers scheduled, by step and kind.",
            ["step", "kind"], registry=registry)
        self.fired = Counter(
            "suqiu_sla_events_total",
            "SLA timers fired (warning, breach, escalation, urge, upgrade), by step, department "
            "and severity.",
            ["kind", "step", "department", "severity"], registry=registry)
        self.timers = Counter(
            "suqiu_sla_timers_total",
            "Timer outcomes: claimed, fired, retried (claimed again after a lost lease), "
            "superseded (recomputed away).",
            ["outcome"], registry=registry)
        self.lag = Histogram(
            "suqiu_sla_fire_lag_seconds", "Firing lag: fired time minus the timer's due time.",
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300), registry=registry)
        # Every replica counts the same shared timers: aggregate with max(), not sum().
        self.open_deadlines = Gauge(
            "suqiu_sla_open_deadlines",
            "Deadlines not yet due (pending breach timers), by step and time left "
            "(due_in: 1h, 4h, 24h, later; each bucket excludes the earlier ones).",
            ["step", "due_in"], registry=registry)
