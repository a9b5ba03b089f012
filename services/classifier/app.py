"""Composition root of the classifier service."""

from __future__ import annotations

from services.classifier.handlers import ClassifierHandler, register
from services.classifier.metrics import ClassifierMetrics
from services.classifier.repository import TicketSteps
from services.classifier.settings import ClassifierSettings
from shared.catalogue import load_catalogue
from shared.runtime import ServiceParts, ServiceRuntime
from shared.settings import CommonSettings

__all__ = ["create_runtime"]


def create_runtime(common: CommonSettings | None = None,
                   settings: ClassifierSettings | None = None) -> ServiceRuntime:
    settings = settings or ClassifierSettings()
    parts = ServiceParts.build("classifier", common)
    catalogue = load_catalogue(parts.common.catalogue_path)
    handler = ClassifierHandler(TicketSteps(parts.store, parts.publisher), catalogue,
                                ClassifierMetrics(parts.registry))
    register(parts.consumer, parts.broker, parts.topology, handler, settings.prefetch)
    return parts.runtime(settings.http_port)
