"""Dispatcher subscriber: ticket.classified, ticket.mass_incident and department commands in;
orders stored, lifecycle events out."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from faststream.rabbit import RabbitBroker
from pydantic import Field, TypeAdapter

from services.dispatcher.domain import dispatch_with_events
from services.dispatcher.lifecycle import Command, Refused, dispatched_event
from services.dispatcher.service import Lifecycle, UnknownTicket
from shared.contracts import TicketClassified, TicketMassIncident, TicketStatus, WorkOrder
from shared.errors import FieldError, PermanentError
from shared.messaging import ReliableConsumer
from shared.store import VersionConflict
from shared.topology import Topology

__all__ = ["INPUT_ADAPTER", "DispatcherHandler", "register"]

DispatcherInput = Annotated[TicketClassified | TicketMassIncident | Command,
                            Field(discriminator="type")]
INPUT_ADAPTER: TypeAdapter[Any] = TypeAdapter(DispatcherInput)


def _permanent(reason: str, field: str, message: str) -> PermanentError:
    return PermanentError(reason, [FieldError(field, reason, message)])


class DispatcherHandler:
    def __init__(self, lifecycle: Lifecycle, max_conflicts: int = 5) -> None:
        self._life = lifecycle
        self._max_conflicts = max_conflicts

    async def on_message(self, msg: TicketClassified | TicketMassIncident | Command) -> str:
        structlog.contextvars.bind_contextvars(ticket_no=msg.ticket_no)
        if isinstance(msg, TicketClassified):
            return await self.on_classified(msg)
        if isinstance(msg, TicketMassIncident):
            return await self._life.merge(msg)
        return await self.on_command(msg)

    async def on_classified(self, event: TicketClassified) -> str:
        """classified -> dispatched (or triage); a redelivery re-emits the same dispatch event."""
        for _ in range(self._max_conflicts):
            order = await self._load(event.ticket_no)
            if order.status is not TicketStatus.CLASSIFIED:
                if order.dispatch is not None and order.status is TicketStatus.DISPATCHED:
                    await self._life.save_and_publish_events([dispatched_event(order)])
                return "duplicate"
            after, events = dispatch_with_events(order, self._life.policy.catalogue,
                                                 self._life.now(), self._life.rules,
                                                 self._life.policy)
            try:
                saved = await self._life.save_and_publish(order, after, events)
            except VersionConflict:
                continue
            self._life.observe_dispatch(saved)
            return "ok"
        raise VersionConflict(f"{event.ticket_no}: gave up after {self._max_conflicts} conflicts")

    async def on_command(self, cmd: Command) -> str:
        try:
            await self._life.command(cmd, retries=self._max_conflicts)
        except UnknownTicket as exc:
            raise _permanent("unknown_ticket", "ticket_no", f"no work order {exc}") from exc
        except Refused as exc:
            if exc.code == "duplicate_command":
                return "duplicate"
            raise _permanent(exc.code, "action", exc.message) from exc
        return "ok"

    async def _load(self, ticket_no: str) -> WorkOrder:
        try:
            return await self._life.load(ticket_no)
        except UnknownTicket as exc:
            raise _permanent("unknown_ticket", "ticket_no", f"no work order {exc}") from exc


def register(consumer: ReliableConsumer, broker: RabbitBroker, topology: Topology,
             handler: DispatcherHandler, prefetch: int) -> None:
    consumer.subscribe(
        broker, topology.consume_spec("dispatcher"), prefetch=prefetch,
        parse=INPUT_ADAPTER.validate_python,
        handle=lambda msg, _: handler.on_message(msg),
        description="ticket.classified and ticket.mass_incident events, and department "
                    "commands (dispatcher.command): route, dispatch and run the lifecycle.",
    )
