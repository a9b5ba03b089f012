"""The RabbitMQ topology, declared in one place.

    channel systems --intake.<channel>--> [<ns>.intake]  (topic) --> <ns>.intake.work
    services        --<event type>-----> [<ns>.events]  (topic) --> <ns>.<service>.work
    department systems --command.<service>--> [<ns>.intake] (topic) --> <ns>.<service>.work
    every work queue --dead letters----> [<ns>.dlx]     (direct, key = work queue) --> <ns>.<service>.dlq

Work queues are quorum queues with a delivery limit; a message that keeps failing is
dead-lettered by the broker (reason `delivery_limit`), and a message a service rejects as bad
input is republished to the DLQ by the service with machine-readable error headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from faststream.rabbit import ExchangeType, RabbitExchange, RabbitQueue
from faststream.rabbit.schemas.queue import QueueType

__all__ = ["COMMAND_BINDINGS", "SERVICES", "Topology", "WorkQueue"]

SERVICES: tuple[str, ...] = ("intake", "classifier", "dispatcher", "sla_monitor", "notifier",
                             "analytics")

# Which event types each service's work queue receives from the events exchange.
EVENT_BINDINGS: dict[str, tuple[str, ...]] = {
    "classifier": ("ticket.received",),
    "dispatcher": ("ticket.classified", "ticket.mass_incident"),
    "sla_monitor": ("ticket.dispatched", "ticket.signed", "ticket.returned", "ticket.transferred",
                    "ticket.suspended", "ticket.resumed", "ticket.extension_approved",
                    "ticket.replied", "ticket.closed", "ticket.reopened"),
    "notifier": ("ticket.received", "ticket.dispatched", "sla.warning", "sla.breached",
                 "sla.escalated", "ticket.urged", "ticket.replied", "ticket.revisit_requested",
                 "ticket.extension_approved", "ticket.invalid", "ticket.linked"),
    # Facts come from the order's audit trail; these events say it changed (docs/reports.md).
    "analytics": ("ticket.invalid", "ticket.classified", "ticket.dispatched", "ticket.signed",
                  "ticket.returned", "ticket.transferred", "ticket.resumed",
                  "ticket.extension_approved", "ticket.replied", "ticket.closed",
                  "ticket.reopened", "ticket.linked", "analytics.hotspot"),
}

# Commands from department systems: published to the intake exchange with these routing keys.
COMMAND_BINDINGS: dict[str, tuple[str, ...]] = {
    "dispatcher": ("command.dispatcher",),
}


@dataclass(frozen=True)
class WorkQueue:
    """A service's work queue, where it is bound, and its dead-letter queue."""

    service: str
    name: str
    dlq: str
    exchange: str
    binding_keys: tuple[str, ...] = field(default_factory=tuple)
    command_keys: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Topology:
    """All names for one namespace; `declare` makes them exist on the broker."""

    namespace: str = "suqiu"
    queue_type: str = "quorum"
    delivery_limit: int = 5

    @property
    def intake_exchange(self) -> str:
        return f"{self.namespace}.intake"

    @property
    def events_exchange(self) -> str:
        return f"{self.namespace}.events"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.namespace}.dlx"

    @staticmethod
    def intake_routing_key(channel: str) -> str:
        """Routing key a channel system publishes with."""
        return f"intake.{channel}"

    def work_queue(self, service: str) -> WorkQueue:
        """The work queue of one service."""
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")
        name = f"{self.namespace}.{service}.work"
        if service == "intake":
            return WorkQueue(service, name, f"{self.namespace}.{service}.dlq",
                             self.intake_exchange, ("intake.*",))
        return WorkQueue(service, name, f"{self.namespace}.{service}.dlq",
                         self.events_exchange, EVENT_BINDINGS[service],
                         COMMAND_BINDINGS.get(service, ()))

    def work_queues(self) -> list[WorkQueue]:
        return [self.work_queue(s) for s in SERVICES]

    def exchange(self, name: str) -> RabbitExchange:
        """A reference to an already declared exchange (for publishing)."""
        kind = ExchangeType.DIRECT if name == self.dead_letter_exchange else ExchangeType.TOPIC
        return RabbitExchange(name, type=kind, durable=True, declare=False)

    def queue_spec(self, wq: WorkQueue) -> RabbitQueue:
        """The work queue with its dead-letter and delivery-limit arguments."""
        args: dict[str, object] = {
            "x-dead-letter-exchange": self.dead_letter_exchange,
            "x-dead-letter-routing-key": wq.name,
        }
        if self.queue_type == "quorum":
            args["x-delivery-limit"] = self.delivery_limit
            return RabbitQueue(wq.name, queue_type=QueueType.QUORUM, durable=True,  # type: ignore[call-overload]
                               arguments=args)
        return RabbitQueue(wq.name, queue_type=QueueType.CLASSIC, durable=True,  # type: ignore[call-overload]
                           arguments=args)

    def consume_spec(self, service: str) -> RabbitQueue:
        """What a subscriber passes to FastStream: the queue, already declared by `declare`."""
        spec = self.queue_spec(self.work_queue(service))
        spec.declare = False
        return spec

    def dlq_spec(self, wq: WorkQueue) -> RabbitQueue:
        kind = QueueType.QUORUM if self.queue_type == "quorum" else QueueType.CLASSIC
        return RabbitQueue(wq.dlq, queue_type=kind, durable=True)  # type: ignore[call-overload]

    async def delete(self, amqp_url: str) -> None:
        """Remove every queue and exchange of this namespace (tests and teardown tools)."""
        import aio_pika

        conn = await aio_pika.connect(amqp_url)
        try:
            channel = await conn.channel()
            for wq in self.work_queues():
                for name in (wq.name, wq.dlq):
                    await channel.queue_delete(name)
            for name in (self.intake_exchange, self.events_exchange, self.dead_letter_exchange):
                await channel.exchange_delete(name)
        finally:
            await conn.close()

    async def declare(self, amqp_url: str) -> None:
        """Idempotently declare exchanges, work queues, DLQs and bindings.

        Uses its own short-lived connection on purpose: FastStream caches queue objects by
        queue spec, so declaring through the broker first would make the subscribers reuse
        the declaring channel and lose their own channel's prefetch (QoS).
        """
        import aio_pika

        conn = await aio_pika.connect(amqp_url)
        try:
            channel = await conn.channel()
            declared = {}
            for name, kind in (
                (self.intake_exchange, aio_pika.ExchangeType.TOPIC),
                (self.events_exchange, aio_pika.ExchangeType.TOPIC),
                (self.dead_letter_exchange, aio_pika.ExchangeType.DIRECT),
            ):
                declared[name] = await channel.declare_exchange(name, kind, durable=True)
            for wq in self.work_queues():
                spec = self.queue_spec(wq)
                queue = await channel.declare_queue(wq.name, durable=True,
                                                    arguments=spec.arguments)
                for key in wq.binding_keys:
                    await queue.bind(declared[wq.exchange], routing_key=key)
                for key in wq.command_keys:
                    await queue.bind(declared[self.intake_exchange], routing_key=key)
                dlq = await channel.declare_queue(wq.dlq, durable=True,
                                                  arguments=self.dlq_spec(wq).arguments)
                await dlq.bind(declared[self.dead_letter_exchange], routing_key=wq.name)
        finally:
            await conn.close()
