"""Composition root of the intake service."""

from __future__ import annotations

from services.intake.handlers import IntakeHandler, register
from services.intake.metrics import IntakeMetrics
from services.intake.repository import IntakeRepository
from services.intake.settings import IntakeSettings
from shared.runtime import ServiceParts, ServiceRuntime
from shared.settings import CommonSettings

__all__ = ["create_runtime"]


def create_runtime(common: CommonSettings | None = None,
                   settings: IntakeSettings | None = None) -> ServiceRuntime:
    settings = settings or IntakeSettings()
    parts = ServiceParts.build("intake", common)
    repo = IntakeRepository(parts.store, settings.ticket_prefix, parts.common.timezone)
    handler = IntakeHandler(repo, parts.publisher, IntakeMetrics(parts.registry))
    register(parts.consumer, parts.broker, parts.topology, handler, settings.prefetch)
    return parts.runtime(settings.http_port)
