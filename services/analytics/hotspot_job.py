"""Runs hotspot detection on the maintained daily counts; announces each hotspot as an event."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import structlog
from faststream.rabbit import RabbitBroker

from suqiu.services.analytics.domain.hotspots import Hotspot, HotspotPolicy, Key, days_needed, detect
from suqiu.services.analytics.metrics import AnalyticsMetrics
from suqiu.services.analytics.repository import AnalyticsRepository
from suqiu.shared.background import repeat
from suqiu.shared.contracts.analytics import AnalyticsHotspot
from suqiu.shared.topology import Topology

__all__ = ["HotspotJob", "find_hotspots"]

log = structlog.get_logger(__name__)


async def find_hotspots(repo: AnalyticsRepository, as_of: date, policy: HotspotPolicy) -> list[Hotspot]:
    """Read the `h|<day>` partitions the window and its baseline need, then detect."""
    days = days_needed(as_of, policy)
    current = set(days[-policy.window_days:])
    daily: dict[date, dict[Key, int]] = {}
    samples: dict[Key, list[str]] = defaultdict(list)
    for day in days:
        counts: dict[Key, int] = {}
        for doc in await repo.partition(f"h|{day.isoformat()}"):
            key = (doc["category"], doc["district"], doc["street"])
            counts[key] = counts.get(key, 0) + int(doc.get("valid", 0))
            if day in current:
                samples[key].extend(s for s in (doc.get("sample_lo"), doc.get("sample_hi")) if s)
        daily[day] = counts
    return detect(daily, {k: sorted(set(v)) for k, v in samples.items()}, as_of, policy)


def hotspot_event(h: Hotspot, now: datetime) -> AnalyticsHotspot:
    return AnalyticsHotspot(
        event_id=h.event_id, occurred_at=now, window_start=h.window_start,
        window_end=h.window_end, category=h.category, district=h.district, street=h.street,
        observed=h.observed, baseline=h.baseline, baseline_windows=h.baseline_windows,
        p_value=h.p_value, sample_tickets=h.samples)


class HotspotJob:
    def __init__(self, repo: AnalyticsRepository, broker: RabbitBroker, topology: Topology,
                 metrics: AnalyticsMetrics, policy: HotspotPolicy, tz: ZoneInfo) -> None:
        self._repo = repo
        self._broker = broker
        self._topology = topology
        self._metrics = metrics
        self._policy = policy
        self._tz = tz
        self._shown: set[tuple[str, str, str]] = set()

    async def run_once(self, now: datetime | None = None) -> list[Hotspot]:
        now = now or datetime.now(UTC)
        found = await find_hotspots(self._repo, now.astimezone(self._tz).date(), self._policy)
        for h in found:
            await self._publish(hotspot_event(h, now))
            self._metrics.hotspot_events.inc()
        labels = {(h.category, h.district, h.street): h.observed for h in found}
        for gone in self._shown - set(labels):
            self._metrics.hotspots.remove(*gone)
        for key, observed in labels.items():
            self._metrics.hotspots.labels(*key).set(observed)
        self._shown = set(labels)
        return found

    async def _publish(self, event: AnalyticsHotspot) -> None:
        """To `<ns>.events` with routing key = type, persistent, message id = event id."""
        await self._broker.publish(
            event.model_dump_json().encode(),
            exchange=self._topology.exchange(self._topology.events_exchange),
            routing_key=event.type, message_id=event.event_id,
            content_type="application/json", persist=True)

    async def forever(self, interval_s: float) -> None:
        await repeat(self.run_once, interval_s=interval_s, failure_event="hotspot_run_failed")
