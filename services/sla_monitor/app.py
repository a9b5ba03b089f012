"""Composition root of the SLA monitor service."""

from __future__ import annotations

from services.sla_monitor.handlers import SlaHandler, register
from services.sla_monitor.metrics import SlaMetrics
from services.sla_monitor.repository import SlaTimerRepository
from services.sla_monitor.settings import SlaSettings
from shared.calendar import load_calendar
from shared.catalogue import load_catalogue
from shared.runtime import ServiceParts, ServiceRuntime
from shared.settings import CommonSettings
from shared.sla import load_policies

__all__ = ["create_runtime"]


def create_runtime(common: CommonSettings | None = None,
                   settings: SlaSettings | None = None) -> ServiceRuntime:
    settings = settings or SlaSettings()
    parts = ServiceParts.build("sla_monitor", common)
    cat = parts.common.catalogue_path
    catalogue = load_catalogue(cat)
    handler = SlaHandler(SlaTimerRepository(parts.store), parts.publisher, catalogue,
                         SlaMetrics(parts.registry),
                         load_policies(settings.resolve("sla.yaml", settings.policy_path, cat)),
                         load_calendar(settings.resolve("calendar-overrides.yaml",
                                                        settings.calendar_overrides_path, cat),
                                       tz=settings.timezone),
                         store=parts.store)
    register(parts.consumer, parts.broker, parts.topology, handler, settings.prefetch)
    return parts.runtime(settings.http_port, background=[
        lambda: handler.scan_forever(settings.scan_interval_s, settings.claim_batch,
                                     settings.lease_s, settings.open_deadlines_interval_s)])
