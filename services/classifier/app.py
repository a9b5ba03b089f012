"""Composition root of the classifier service."""

from __future__ import annotations

from suqiu.services.classifier.domain.region import national_lookup
from suqiu.services.classifier.handlers import ClassifierHandler, register
from suqiu.services.classifier.metrics import ClassifierMetrics
from suqiu.services.classifier.model_holder import ModelHolder
from suqiu.services.classifier.repository import Orders, Signatures
from suqiu.services.classifier.settings import ClassifierSettings
from suqiu.shared.catalogue import load_catalogue
from suqiu.shared.runtime import ServiceParts, ServiceRuntime
from suqiu.shared.settings import CommonSettings

__all__ = ["create_runtime"]


def create_runtime(common: CommonSettings | None = None,
                   settings: ClassifierSettings | None = None) -> ServiceRuntime:
    settings = settings or ClassifierSettings()
    parts = ServiceParts.build("classifier", common)
    catalogue = load_catalogue(parts.common.catalogue_path)
    # The model is loaded (never trained) at start-up; a missing or broken one stops the service.
    models = ModelHolder(settings.model_path if settings.use_model else None,
                         settings.model_reload_seconds)
    if settings.national_gazetteer:
        national_lookup(f"{catalogue.province}{catalogue.city}")  # load it now, not on a message
    handler = ClassifierHandler(
        Orders(parts.store), parts.publisher, catalogue, ClassifierMetrics(parts.registry),
        models=models, signatures=Signatures(parts.store),
        national_gazetteer=settings.national_gazetteer)
    register(parts.consumer, parts.broker, parts.topology, handler, settings.prefetch)
    return parts.runtime(settings.http_port)
