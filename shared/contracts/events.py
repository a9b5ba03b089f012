"""Lifecycle events on `<ns>.events`; the routing key is the event's `type`.

Events carry ids and the facts a consumer routes on, not whole documents: a consumer that
needs the work order reads it from the store. `event_id` is deterministic per fact, so a
re-emitted event has the same id and consumers deduplicate on it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from shared.contracts.common import Channel, Contract, Severity

__all__ = [
    "EVENT_ADAPTER",
    "SlaBreached",
    "SlaWarning",
    "TicketClassified",
    "TicketDispatched",
    "TicketEvent",
    "TicketReceived",
]


class _Event(Contract):
    schema_version: Literal[1] = 1
    event_id: str = Field(min_length=1, max_length=200)
    ticket_no: str = Field(min_length=1, max_length=64)
    occurred_at: AwareDatetime
    intake_at: AwareDatetime = Field(description="When the channel received the complaint.")


class TicketReceived(_Event):
    """A new ticket was accepted by intake; the notifier sends the receipt."""

    type: Literal["ticket.received"] = "ticket.received"
    channel: Channel


class TicketClassified(_Event):
    """The classifier decided category, region, department and severity."""

    type: Literal["ticket.classified"] = "ticket.classified"
    category: str
    department: str
    severity: Severity
    confidence: float = Field(ge=0, le=1)


class TicketDispatched(_Event):
    """The order was sent to its responsible department with its deadlines."""

    type: Literal["ticket.dispatched"] = "ticket.dispatched"
    department: str
    severity: Severity
    sign_for_due: AwareDatetime
    resolution_due: AwareDatetime


class _SlaEvent(_Event):
    step: Literal["sign_for", "resolution"]
    department: str
    due_at: AwareDatetime
    lateness_seconds: float = Field(description="Negative before the deadline (warnings).")


class SlaWarning(_SlaEvent):
    """A step reached the warning share of its time limit (预警)."""

    type: Literal["sla.warning"] = "sla.warning"


class SlaBreached(_SlaEvent):
    """A step passed its time limit (超时)."""

    type: Literal["sla.breached"] = "sla.breached"


TicketEvent = Annotated[
    TicketReceived | TicketClassified | TicketDispatched | SlaWarning | SlaBreached,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[TicketEvent] = TypeAdapter(TicketEvent)
