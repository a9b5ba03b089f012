"""Notifier subscriber: any lifecycle event in, the notifications it causes delivered once."""

from __future__ import annotations

import structlog
from faststream.rabbit import RabbitBroker

from services.notifier.channels import DeliveryChannel
from services.notifier.domain import plan_notifications
from services.notifier.metrics import NotifierMetrics
from services.notifier.repository import NotificationLog
from shared.catalogue import Catalogue
from shared.contracts import EVENT_ADAPTER, TicketEvent
from shared.messaging import ReliableConsumer
from shared.ticket_flow import TicketSteps
from shared.topology import Topology

__all__ = ["NotifierHandler", "register"]


class NotifierHandler:
    def __init__(self, steps: TicketSteps, log: NotificationLog,
                 channels: dict[str, DeliveryChannel], catalogue: Catalogue,
                 metrics: NotifierMetrics, sms_signature: str) -> None:
        self._steps = steps
        self._log = log
        self._channels = channels
        self._catalogue = catalogue
        self._metrics = metrics
        self._signature = sms_signature

    async def on_event(self, event: TicketEvent) -> str:
        structlog.contextvars.bind_contextvars(ticket_no=event.ticket_no)
        order = await self._steps.load(event.ticket_no)
        outcome = "ok"
        for n in plan_notifications(event, order, self._catalogue, self._signature):
            if not await self._log.begin(n):
                self._metrics.notifications.labels(n.channel, n.event_type, "deduplicated").inc()
                outcome = "duplicate"
                continue
            if n.skip_reason:
                await self._log.finish(n, "skipped", detail=n.skip_reason)
                state = "skipped"
            else:
                # TransientDeliveryError propagates: the message is retried with backoff.
                result = await self._channels[n.channel].deliver(n)
                await self._log.finish(n, result.state, result)
                state = result.state
            self._metrics.notifications.labels(n.channel, n.event_type, state).inc()
        return outcome


def register(consumer: ReliableConsumer, broker: RabbitBroker, topology: Topology,
             handler: NotifierHandler, prefetch: int) -> None:
    consumer.subscribe(
        broker, topology.consume_spec("notifier"), prefetch=prefetch,
        parse=EVENT_ADAPTER.validate_python,
        handle=lambda event, _: handler.on_event(event),
        description="Lifecycle events that someone must hear about.",
    )
