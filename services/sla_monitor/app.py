"""Composition root of the SLA monitor service."""

from __future__ import annotations

from services.sla_monitor.handlers import SlaHandler, register
from services.sla_monitor.metrics import SlaMetrics
from services.sla_monitor.repository import SlaTimerRepository
from services.sla_monitor.settings import SlaSettings
from shared.catalogue import load_catalogue
from shared.runtime import ServiceParts, ServiceRuntime
from shared.settings import CommonSettings

__all__ = ["create_runtime"]


def create_runtime(common: CommonSettings | None = None,
                   settings: SlaSettings | None = None) -> ServiceRuntime:
    settings = settings or SlaSettings()
    parts = ServiceParts.build("sla_monitor", common)
    catalogue = load_catalogue(parts.common.catalogue_path)
    handler = SlaHandler(SlaTimerRepository(parts.store), parts.publisher, catalogue,
                         SlaMetrics(parts.registry))
    register(parts.consumer, parts.broker, parts.topology, handler, settings.prefetch)
    return parts.runtime(settings.http_port, background=[
        lambda: handler.scan_forever(settings.scan_interval_s, settings.claim_batch,
                                     settings.lease_s)])
