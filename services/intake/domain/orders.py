"""Turning a submission into a work order, the events intake emits, and revalidation."""

from __future__ import annotations

from datetime import datetime

from suqiu.services.intake.domain.submission import Submission, from_envelope, unknown_fields
from suqiu.services.intake.domain.text import analysis_text, masked_text
from suqiu.shared.contracts import (
    HistoryEntry,
    IntakeEnvelope,
    TicketInvalid,
    TicketLinked,
    TicketReceived,
    TicketStatus,
    Validity,
    ValidityReason,
    WorkOrder,
)

__all__ = [
    "invalid_event",
    "linked_event",
    "new_work_order",
    "received_event",
    "revalidate",
    "stored_analysis_text",
    "was_revalidated",
]


def stored_analysis_text(sub: Submission) -> str:
    """The analysis text stored on the order: simplified, folded, personal numbers masked."""
    return masked_text(analysis_text(sub.content.text), (sub.complainant.name,))


def new_work_order(source: Submission | IntakeEnvelope, ticket_no: str, raw_body: bytes,
                   now: datetime, *, reasons: list[ValidityReason] | None = None,
                   person_key: str | None = None, promised_by: datetime | None = None) -> WorkOrder:
    """A freshly received work order; nothing the channel did not supply is invented.

    With `reasons` the order is invalid (kept, with a call-back task); otherwise received.
    """
    sub = from_envelope(source) if isinstance(source, IntakeEnvelope) else source
    reasons = reasons or []
    status = TicketStatus.INVALID if reasons else TicketStatus.RECEIVED
    note = ",".join(r.code for r in reasons) or None
    return WorkOrder(
        ticket_no=ticket_no,
        status=status,
        channel=sub.channel,
        channel_message_id=sub.channel_message_id,
        intake_key=sub.intake_key,
        received_at=sub.received_at,
        created_at=now,
        updated_at=now,
        complainant=sub.complainant,
        content=sub.content,
        analysis_text=stored_analysis_text(sub),
        location=sub.location,
        attachments=sub.attachments,
        channel_details=dict(sub.channel_details),
        raw_payload=raw_body.decode("utf-8"),
        history=[HistoryEntry(at=now, actor="intake", action="receive", to_status=status,
                              note=note)],
        validity=Validity(valid=not reasons, reasons=reasons, checked_at=now),
        unknown_fields=unknown_fields(sub),
        person_key=person_key,
        promised_by=promised_by,
    )


def received_event(order: WorkOrder) -> TicketReceived:
    """The event announcing a ticket; its id is fixed, so re-emitting it is harmless."""
    return TicketReceived(
        event_id=f"{order.ticket_no}:received",
        ticket_no=order.ticket_no,
        occurred_at=order.created_at,
        intake_at=order.received_at,
        channel=order.channel,
        promised_by=order.promised_by,
    )


def invalid_event(order: WorkOrder, callback_due: datetime | None = None) -> TicketInvalid:
    """The call-back task for an invalid order (reasons as codes, no personal data)."""
    reasons = [r.code for r in order.validity.reasons] if order.validity else []
    return TicketInvalid(
        event_id=f"{order.ticket_no}:invalid",
        ticket_no=order.ticket_no,
        occurred_at=order.created_at,
        intake_at=order.received_at,
        channel=order.channel,
        reasons=reasons or ["unspecified"],
        callback_due=callback_due,
    )


def linked_event(ticket_no: str, sub: Submission, similarity: float,
                 linked_at: datetime) -> TicketLinked:
    """A repeat submission linked to `ticket_no`; one event per submission."""
    return TicketLinked(
        event_id=f"{ticket_no}:linked:{sub.intake_key}",
        ticket_no=ticket_no,
        occurred_at=linked_at,
        intake_at=sub.received_at,
        channel=sub.channel,
        submission_key=sub.intake_key,
        similarity=similarity,
    )


def revalidate(order: WorkOrder, operator_id: str, now: datetime, note: str | None = None) -> WorkOrder:
    """The operator confirmed the complaint after the call-back: invalid -> received."""
    if order.status is not TicketStatus.INVALID:
        raise ValueError(f"{order.ticket_no} is {order.status.value}, not invalid")
    old = order.validity
    validity = Validity(valid=True, reasons=old.reasons if old else [], checked_at=now,
                        revalidated_by=operator_id)
    entry = HistoryEntry(at=now, actor=f"operator:{operator_id}", action="revalidate",
                         from_status=TicketStatus.INVALID, to_status=TicketStatus.RECEIVED,
                         note=note)
    return order.model_copy(update={
        "status": TicketStatus.RECEIVED, "version": order.version + 1, "updated_at": now,
        "validity": validity, "history": [*order.history, entry]})


def was_revalidated(order: WorkOrder) -> bool:
    return bool(order.validity and order.validity.revalidated_by)
