"""Analytics domain metrics (never personal data in labels)."""

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["AnalyticsMetrics"]


class AnalyticsMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.facts = Counter("suqiu_analytics_facts_total", "Facts counted into the aggregates.",
                             ["counter"], registry=registry)
        self.hotspots = Gauge(
            "suqiu_analytics_hotspot_observed",
            "Valid orders in the current window of each detected hotspot (category x street); "
            "the series disappears when the hotspot does.",
            ["category", "district", "street"], registry=registry)
        self.hotspot_events = Counter("suqiu_analytics_hotspots_total",
                                      "Hotspots announced (analytics.hotspot events).",
                                      registry=registry)
        self.retention = Counter("suqiu_analytics_retention_total",
                                 "Archive and retention actions, by kind.", ["kind"],
                                 registry=registry)
