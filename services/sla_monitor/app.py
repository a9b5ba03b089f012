"""Composition root of the SLA monitor service."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from suqiu.services.sla_monitor.handlers import SlaHandler, register
from suqiu.services.sla_monitor.metrics import SlaMetrics
from suqiu.services.sla_monitor.repository import SlaTimerRepository
from suqiu.services.sla_monitor.settings import SlaSettings
from suqiu.shared.catalogue import load_catalogue
from suqiu.shared.runtime import ServiceParts, ServiceRuntime
from suqiu.shared.settings import CommonSettings
from suqiu.shared.sla import load_book

__all__ = ["create_runtime"]


def create_runtime(common: CommonSettings | None = None,
                   settings: SlaSettings | None = None) -> ServiceRuntime:
    settings = settings or SlaSettings()
    parts = ServiceParts.build("sla_monitor", common)
    cat = parts.common.catalogue_path
    catalogue = load_catalogue(cat)
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    book = load_book(catalogue, cat, settings, today=today)  # ConfigError: year without data
    metrics = SlaMetrics(parts.registry)
    last = book.calendar.last_known_day(today)
    if last is not None:
        metrics.calendar_last_day.set(
            datetime.combine(last, time(0), book.calendar.zone).timestamp())
    handler = SlaHandler(SlaTimerRepository(parts.store), parts.publisher, catalogue, metrics,
                         book)
    register(parts.consumer, parts.broker, parts.topology, handler, settings.prefetch)
    return parts.runtime(settings.http_port, background=[
        lambda: handler.scan_forever(settings.scan_interval_s, settings.claim_batch,
                                     settings.lease_s, settings.open_deadlines_interval_s,
                                     settings.open_deadlines_cap)])
