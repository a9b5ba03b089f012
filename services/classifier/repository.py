"""The classifier reads and writes work orders through the shared ticket steps."""

from shared.ticket_flow import TicketSteps

__all__ = ["TicketSteps"]
