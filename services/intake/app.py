"""Composition root of the intake service."""

from __future__ import annotations

from datetime import UTC, datetime

from suqiu.services.intake.consumer import IntakeConsumer
from suqiu.services.intake.contracts import WebForm
from suqiu.services.intake.handlers import IntakeHandler, register
from suqiu.services.intake.http_api import IntakeHttpApi
from suqiu.services.intake.metrics import IntakeMetrics
from suqiu.services.intake.open311 import Catalog, Open311Api
from suqiu.services.intake.repository import IntakeRepository
from suqiu.services.intake.settings import IntakeSettings
from suqiu.shared.catalogue import load_catalogue
from suqiu.shared.contracts import PendingEvent
from suqiu.shared.runtime import ServiceParts, ServiceRuntime
from suqiu.shared.settings import CommonSettings
from suqiu.shared.sla import load_book

__all__ = ["create_runtime"]


def create_runtime(common: CommonSettings | None = None,
                   settings: IntakeSettings | None = None) -> ServiceRuntime:
    settings = settings or IntakeSettings()
    parts = ServiceParts.build("intake", common)
    repo = IntakeRepository(parts.store, settings.ticket_prefix, parts.common.timezone,
                            settings.ticket_block)
    metrics = IntakeMetrics(parts.registry)
    catalogue = load_catalogue(parts.common.catalogue_path)
    deadlines = load_book(catalogue, parts.common.catalogue_path,
                          today=datetime.now(UTC).date())
    handler = IntakeHandler(repo, parts.publisher, metrics, settings, deadlines=deadlines)
    register(IntakeConsumer(parts.consumer, metrics), parts.broker, parts.topology, handler,
             settings.prefetch)
    topology = parts.topology

    async def publish_web_form(message: WebForm) -> None:
        """The Open311 POST enters exactly like a channel system's message (mandatory,
        confirmed: the request is accepted only once the broker holds it in the queue)."""
        routed = await parts.publisher.publish_pending(PendingEvent(
            event_id=message.message_id, exchange="intake",
            routing_key=topology.intake_routing_key("web"),
            body=message.model_dump_json()), None)
        if not routed:
            raise RuntimeError("the intake queue is not bound for web forms")

    open311 = Open311Api(repo, publish_web_form, catalogue, settings, metrics)
    http_api = IntakeHttpApi(repo, handler, Catalog(catalogue), settings, metrics)
    return parts.runtime(settings.http_port, routes=[*open311.routes(), *http_api.routes()])
