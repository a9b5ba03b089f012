"""Composition root of the dispatcher service."""

from __future__ import annotations

from services.dispatcher.handlers import DispatcherHandler, register
from services.dispatcher.metrics import DispatcherMetrics
from services.dispatcher.repository import TicketSteps
from services.dispatcher.settings import DispatcherSettings
from shared.catalogue import load_catalogue
from shared.runtime import ServiceParts, ServiceRuntime
from shared.settings import CommonSettings

__all__ = ["create_runtime"]


def create_runtime(common: CommonSettings | None = None,
                   settings: DispatcherSettings | None = None) -> ServiceRuntime:
    settings = settings or DispatcherSettings()
    parts = ServiceParts.build("dispatcher", common)
    catalogue = load_catalogue(parts.common.catalogue_path)
    handler = DispatcherHandler(TicketSteps(parts.store, parts.publisher), catalogue,
                                DispatcherMetrics(parts.registry))
    register(parts.consumer, parts.broker, parts.topology, handler, settings.prefetch)
    return parts.runtime(settings.http_port)
