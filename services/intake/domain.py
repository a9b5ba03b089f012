"""Pure intake rules: text normalisation and turning an envelope into a work order."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from shared.contracts import (
    Complainant,
    HistoryEntry,
    IntakeEnvelope,
    TicketReceived,
    TicketStatus,
    WorkOrder,
)
from shared.privacy import normalize_phone

__all__ = ["analysis_text", "new_work_order", "received_event"]

_SPACES = re.compile(r"\s+")


def analysis_text(text: str) -> str:
    """Text for classification: full-width folded to half-width (NFKC), whitespace collapsed.

    The original stays verbatim in `content.text`; this copy is what rules and models read.
    """
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def _normalized_complainant(c: Complainant) -> Complainant:
    return c.model_copy(update={"phone": normalize_phone(c.phone)})


def new_work_order(envelope: IntakeEnvelope, ticket_no: str, raw_body: bytes,
                   now: datetime) -> WorkOrder:
    """A freshly received work order; nothing the channel did not supply is invented."""
    return WorkOrder(
        ticket_no=ticket_no,
        status=TicketStatus.RECEIVED,
        channel=envelope.channel,
        channel_message_id=envelope.channel_message_id,
        intake_key=envelope.intake_key,
        received_at=envelope.received_at,
        created_at=now,
        updated_at=now,
        complainant=_normalized_complainant(envelope.complainant),
        content=envelope.content,
        analysis_text=analysis_text(envelope.content.text),
        location=envelope.location,
        attachments=envelope.attachments,
        channel_details=dict(envelope.channel_details),
        raw_payload=raw_body.decode("utf-8"),
        history=[HistoryEntry(at=now, actor="intake", action="receive",
                              to_status=TicketStatus.RECEIVED)],
    )


def received_event(order: WorkOrder) -> TicketReceived:
    """The event announcing a ticket; its id is fixed, so re-emitting it is harmless."""
    return TicketReceived(
        event_id=f"{order.ticket_no}:received",
        ticket_no=order.ticket_no,
        occurred_at=order.created_at,
        intake_at=order.received_at,
        channel=order.channel,
    )
