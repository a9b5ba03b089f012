"""Classifier subscriber: ticket.received in, classification stored, ticket.classified out."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from faststream.rabbit import RabbitBroker

from services.classifier.domain import classify
from services.classifier.domain.classify import apply_classification, classified_event
from services.classifier.metrics import ClassifierMetrics
from services.classifier.repository import TicketSteps
from shared.catalogue import Catalogue
from shared.contracts import TicketReceived, WorkOrder
from shared.messaging import ReliableConsumer
from shared.topology import Topology

__all__ = ["ClassifierHandler", "register"]


class ClassifierHandler:
    def __init__(self, steps: TicketSteps, catalogue: Catalogue,
                 metrics: ClassifierMetrics) -> None:
        self._steps = steps
        self._catalogue = catalogue
        self._metrics = metrics

    def _apply(self, order: WorkOrder) -> WorkOrder:
        now = datetime.now(UTC)
        return apply_classification(order, classify(order, self._catalogue, now), now)

    async def on_received(self, event: TicketReceived) -> str:
        structlog.contextvars.bind_contextvars(ticket_no=event.ticket_no)
        outcome, order = await self._steps.advance(
            event.ticket_no,
            done=lambda o: o.classification is not None,
            apply=self._apply,
            event=classified_event,
        )
        if outcome == "ok" and order.classification:
            c = order.classification
            self._metrics.classified.labels(c.category, c.severity.value).inc()
            self._metrics.confidence.observe(c.confidence)
        return outcome


def register(consumer: ReliableConsumer, broker: RabbitBroker, topology: Topology,
             handler: ClassifierHandler, prefetch: int) -> None:
    consumer.subscribe(
        broker, topology.consume_spec("classifier"), prefetch=prefetch,
        parse=TicketReceived.model_validate,
        handle=lambda event, _: handler.on_received(event),
        description="ticket.received events: classify the new work order.",
    )
