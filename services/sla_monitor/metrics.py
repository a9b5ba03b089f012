"""SLA monitor's domain metrics: what was announced, timer work, open deadlines, the calendar."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["SlaMetrics"]


class SlaMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.announced = Counter(
            "suqiu_sla_events_total",
            "SLA announcements made (each once per order, step, kind and deadline): kind "
            "warning, breach, escalation, urge, upgrade; by step, department and severity.",
            ["kind", "step", "department", "severity"], registry=registry)
        self.written = Counter(
            "suqiu_sla_timers_written_total",
            "Timer documents written because a step's stored deadline changed, by step.",
            ["step"], registry=registry)
        self.timers = Counter(
            "suqiu_sla_timers_total",
            "Timer outcomes: claimed, fired, retried (claimed again after a lost lease), "
            "replanned (the deadline moved before the timer fired).",
            ["outcome"], registry=registry)
        self.lag = Histogram(
            "suqiu_sla_fire_lag_seconds", "Firing lag: fired time minus the timer's due time.",
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300), registry=registry)
        # Every replica walks the same shared timers: aggregate with max(), not sum().
        self.open_deadlines = Gauge(
            "suqiu_sla_open_deadlines",
            "Running deadlines due within 24 h, by step and time left (due_in: 1h, 4h, 24h; "
            "each bucket excludes the earlier ones), from a bounded walk of the due_at index.",
            ["step", "due_in"], registry=registry)
        self.open_deadlines_capped = Gauge(
            "suqiu_sla_open_deadlines_capped",
            "1 when the walk behind suqiu_sla_open_deadlines hit its cap (the counts are a floor).",
            registry=registry)
        self.calendar_last_day = Gauge(
            "suqiu_calendar_last_known_day_timestamp_seconds",
            "Start (Asia/Shanghai midnight) of the last day whose holidays the business "
            "calendar knows; SuqiuCalendarDataEnding fires 60 days before it.",
            registry=registry)
