"""Dispatcher subscriber: ticket.classified, ticket.mass_incident and department commands in;
orders stored, lifecycle events out."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from faststream.rabbit import RabbitBroker
from pydantic import Field, TypeAdapter

from suqiu.services.dispatcher.domain import Refused
from suqiu.services.dispatcher.service import LifecycleService, UnknownTicket
from suqiu.shared.contracts import Command, TicketClassified, TicketMassIncident
from suqiu.shared.errors import FieldError, PermanentError
from suqiu.shared.messaging import ReliableConsumer
from suqiu.shared.topology import Topology

__all__ = ["INPUT_ADAPTER", "DispatcherHandler", "register"]

log = structlog.get_logger(__name__)
DispatcherInput = Annotated[TicketClassified | TicketMassIncident | Command,
                            Field(discriminator="type")]
INPUT_ADAPTER: TypeAdapter[Any] = TypeAdapter(DispatcherInput)


def _permanent(reason: str, field: str, message: str) -> PermanentError:
    return PermanentError(reason, [FieldError(field, reason, message)])


class DispatcherHandler:
    def __init__(self, service: LifecycleService, max_conflicts: int = 5) -> None:
        self._service = service
        self._max_conflicts = max_conflicts

    async def on_message(self, msg: TicketClassified | TicketMassIncident | Command) -> str:
        structlog.contextvars.bind_contextvars(ticket_no=msg.ticket_no)
        try:
            if isinstance(msg, TicketClassified):
                return await self._service.dispatch(msg)
            if isinstance(msg, TicketMassIncident):
                return await self._service.merge(msg)
            return await self.on_command(msg)
        except UnknownTicket as exc:
            raise _permanent("unknown_ticket", "ticket_no", f"no work order {exc}") from exc

    async def on_command(self, cmd: Command) -> str:
        try:
            result = await self._service.command(cmd, retries=self._max_conflicts)
        except Refused as exc:
            if cmd.follows_master is not None:
                # A merged member that cannot follow its master (e.g. already closed): kept
                # as it is, not a bad message.
                log.warning("mass_member_not_followed", master=cmd.follows_master,
                            action=cmd.action, code=exc.code)
                return "not_followed"
            raise _permanent(exc.code, "action", exc.message) from exc
        return result.outcome


def register(consumer: ReliableConsumer, broker: RabbitBroker, topology: Topology,
             handler: DispatcherHandler, prefetch: int) -> None:
    consumer.subscribe(
        broker, topology.consume_spec("dispatcher"), prefetch=prefetch,
        parse=INPUT_ADAPTER.validate_python,
        handle=lambda msg, _: handler.on_message(msg),
        description="ticket.classified and ticket.mass_incident events, and department "
                    "commands (dispatcher.command): route, dispatch and run the lifecycle.",
    )
