"""Pydantic v2 contracts: the intake envelope, the work order and lifecycle events."""

from shared.contracts.common import Channel, Contract, Severity, TicketStatus
from shared.contracts.events import (
    EVENT_ADAPTER,
    SlaBreached,
    SlaWarning,
    TicketClassified,
    TicketDispatched,
    TicketEvent,
    TicketReceived,
)
from shared.contracts.intake import AttachmentRef, Complainant, Content, IntakeEnvelope, Location
from shared.contracts.tickets import (
    Classification,
    Dispatch,
    HistoryEntry,
    Region,
    SlaDeadlines,
    WorkOrder,
)

__all__ = [
    "EVENT_ADAPTER",
    "AttachmentRef",
    "Channel",
    "Classification",
    "Complainant",
    "Content",
    "Contract",
    "Dispatch",
    "HistoryEntry",
    "IntakeEnvelope",
    "Location",
    "Region",
    "Severity",
    "SlaBreached",
    "SlaDeadlines",
    "SlaWarning",
    "TicketClassified",
    "TicketDispatched",
    "TicketEvent",
    "TicketReceived",
    "TicketStatus",
    "WorkOrder",
]
