"""Composition root of the analytics service."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from suqiu.services.analytics.domain.facts import Limits
from suqiu.services.analytics.domain.hotspots import HotspotPolicy
from suqiu.services.analytics.handlers import AnalyticsHandler, register
from suqiu.services.analytics.hotspot_job import HotspotJob
from suqiu.services.analytics.metrics import AnalyticsMetrics
from suqiu.services.analytics.repository import AnalyticsRepository
from suqiu.services.analytics.retention import CommandSender, RetentionJob
from suqiu.services.analytics.settings import AnalyticsSettings
from suqiu.shared.catalogue import Catalogue, load_catalogue
from suqiu.shared.runtime import ServiceParts, ServiceRuntime
from suqiu.shared.settings import CommonSettings
from suqiu.shared.sla import load_book

__all__ = ["create_runtime", "hotspot_policy", "limits_of"]


def limits_of(catalogue: Catalogue, tz: str, catalogue_path: Path | None = None) -> Limits:
    """The one deadline computation (shared.sla: the SLA policy file and the business
    calendar beside the catalogue) and the days' time zone."""
    return Limits(load_book(catalogue, catalogue_path), ZoneInfo(tz))


def hotspot_policy(s: AnalyticsSettings) -> HotspotPolicy:
    return HotspotPolicy(s.hotspot_window_days, s.hotspot_baseline_windows, s.hotspot_alpha,
                         s.hotspot_min_count, s.hotspot_min_ratio, s.hotspot_baseline_floor)


def create_runtime(common: CommonSettings | None = None,
                   settings: AnalyticsSettings | None = None) -> ServiceRuntime:
    settings = settings or AnalyticsSettings()
    parts = ServiceParts.build("analytics", common)
    repo = AnalyticsRepository(parts.store)
    metrics = AnalyticsMetrics(parts.registry)
    archive_after = timedelta(days=settings.archive_after_days)
    path = parts.common.catalogue_path
    handler = AnalyticsHandler(repo, limits_of(load_catalogue(path), settings.timezone, path),
                               metrics, archive_after)
    register(parts.consumer, parts.broker, parts.topology, handler, settings.prefetch)
    hotspots = HotspotJob(repo, parts.broker, parts.topology, metrics, hotspot_policy(settings),
                          ZoneInfo(settings.timezone))
    retention = RetentionJob(repo, CommandSender(parts.broker, parts.topology), metrics,
                             archive_after=archive_after,
                             retention=timedelta(days=settings.retention_days),
                             batch=settings.retention_batch)
    background = [repo.ensure_indexes]
    if settings.hotspot_interval_s > 0:
        background.append(lambda: hotspots.forever(settings.hotspot_interval_s))
    if settings.retention_interval_s > 0:
        background.append(lambda: retention.forever(settings.retention_interval_s))
    return parts.runtime(settings.http_port, background=background)
