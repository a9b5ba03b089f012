"""The classifier's verdict for one work order, and the state change it causes."""

from __future__ import annotations

from datetime import datetime

from services.classifier.domain.categories import match_category
from services.classifier.domain.region import extract_region
from services.classifier.domain.severity import assess_severity
from shared.catalogue import Catalogue
from shared.contracts import (
    Classification,
    HistoryEntry,
    TicketClassified,
    TicketStatus,
    WorkOrder,
)

__all__ = ["apply_classification", "classified_event", "classify"]


def classify(order: WorkOrder, catalogue: Catalogue, now: datetime) -> Classification:
    """Category, department, region and severity with confidence and reasons."""
    text = order.analysis_text
    if order.content.title:
        text = f"{order.content.title} {text}"
    match = match_category(text, catalogue)
    severity, reasons = assess_severity(text, order.channel, catalogue.severity_words)
    return Classification(
        category=match.category,
        subcategory=match.subcategory,
        department=match.department,
        region=extract_region(order.location.address, text, catalogue),
        severity=severity,
        severity_reasons=reasons,
        confidence=match.confidence,
        matched_keywords=list(match.keywords),
        classified_at=now,
    )


def apply_classification(order: WorkOrder, result: Classification, now: datetime) -> WorkOrder:
    """received -> classified, with an audit entry; ValueError from any other state."""
    if order.status is not TicketStatus.RECEIVED:
        raise ValueError(f"cannot classify a ticket in status {order.status}")
    entry = HistoryEntry(at=now, actor="classifier", action="classify",
                         from_status=order.status, to_status=TicketStatus.CLASSIFIED,
                         note=f"{result.category}/{result.subcategory or '-'} "
                              f"{result.severity} conf={result.confidence}")
    return order.model_copy(update={
        "status": TicketStatus.CLASSIFIED, "classification": result, "updated_at": now,
        "version": order.version + 1, "history": [*order.history, entry],
    })


def classified_event(order: WorkOrder) -> TicketClassified:
    c = order.classification
    assert c is not None
    return TicketClassified(
        event_id=f"{order.ticket_no}:classified",
        ticket_no=order.ticket_no,
        occurred_at=c.classified_at,
        intake_at=order.received_at,
        category=c.category,
        department=c.department,
        severity=c.severity,
        confidence=c.confidence,
    )
