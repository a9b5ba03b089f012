"""Dispatcher subscriber: ticket.classified in, dispatch stored, ticket.dispatched out."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from faststream.rabbit import RabbitBroker

from services.dispatcher.domain import dispatch, dispatched_event
from services.dispatcher.metrics import DispatcherMetrics
from services.dispatcher.repository import TicketSteps
from shared.catalogue import Catalogue
from shared.contracts import TicketClassified
from shared.messaging import ReliableConsumer
from shared.topology import Topology

__all__ = ["DispatcherHandler", "register"]


class DispatcherHandler:
    def __init__(self, steps: TicketSteps, catalogue: Catalogue,
                 metrics: DispatcherMetrics) -> None:
        self._steps = steps
        self._catalogue = catalogue
        self._metrics = metrics

    async def on_classified(self, event: TicketClassified) -> str:
        structlog.contextvars.bind_contextvars(ticket_no=event.ticket_no)
        outcome, order = await self._steps.advance(
            event.ticket_no,
            done=lambda o: o.dispatch is not None,
            apply=lambda o: dispatch(o, self._catalogue, datetime.now(UTC)),
            event=dispatched_event,
        )
        if outcome == "ok" and order.dispatch and order.classification:
            self._metrics.dispatched.labels(order.dispatch.department,
                                            order.classification.severity.value).inc()
            self._metrics.pipeline_latency.observe(
                (order.dispatch.dispatched_at - order.received_at).total_seconds())
        return outcome


def register(consumer: ReliableConsumer, broker: RabbitBroker, topology: Topology,
             handler: DispatcherHandler, prefetch: int) -> None:
    consumer.subscribe(
        broker, topology.consume_spec("dispatcher"), prefetch=prefetch,
        parse=TicketClassified.model_validate,
        handle=lambda event, _: handler.on_classified(event),
        description="ticket.classified events: route and dispatch the work order.",
    )
