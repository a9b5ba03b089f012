"""Intake subscriber: envelope in, work order stored, ticket.received out."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from faststream.rabbit import RabbitBroker

from services.intake.domain import new_work_order, received_event
from services.intake.metrics import IntakeMetrics
from services.intake.repository import IntakeRepository
from shared.contracts import IntakeEnvelope
from shared.messaging import EventPublisher, ReliableConsumer
from shared.store import DuplicateKey
from shared.topology import Topology

__all__ = ["IntakeHandler", "register"]


class IntakeHandler:
    """Creates exactly one ticket per (channel, channel message id)."""

    def __init__(self, repo: IntakeRepository, publisher: EventPublisher,
                 metrics: IntakeMetrics) -> None:
        self._repo = repo
        self._publisher = publisher
        self._metrics = metrics

    async def accept(self, envelope: IntakeEnvelope, raw_body: bytes) -> str:
        order = await self._repo.existing(envelope.intake_key)
        outcome = "duplicate"
        if order is None:
            now = datetime.now(UTC)
            order = new_work_order(envelope, await self._repo.next_ticket_no(now), raw_body, now)
            try:
                await self._repo.insert(order)
                outcome = "created"
            except DuplicateKey:  # a concurrent delivery of the same message won the race
                order = await self._repo.existing(envelope.intake_key)
                assert order is not None
        structlog.contextvars.bind_contextvars(ticket_no=order.ticket_no)
        # Re-emitted on duplicates too: the first delivery may have crashed before publishing.
        await self._publisher.publish_event(received_event(order))
        self._metrics.tickets.labels(envelope.channel.value, outcome).inc()
        return outcome


def register(consumer: ReliableConsumer, broker: RabbitBroker, topology: Topology,
             handler: IntakeHandler, prefetch: int) -> None:
    """Subscribe the intake queue."""
    consumer.subscribe(
        broker, topology.consume_spec("intake"), prefetch=prefetch,
        parse=IntakeEnvelope.model_validate,
        handle=lambda envelope, message: handler.accept(envelope, message.body),
        description="Intake envelopes from every channel (routing key intake.<channel>).",
    )
