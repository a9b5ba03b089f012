"""The classifier's verdict for one work order, and the state change it causes.

`analyse` is the one code path for a complaint text: the service (`classify`) and the
`suqiu classify` command both call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from suqiu.services.classifier.domain.clustering import ClusterAssignment
from suqiu.services.classifier.domain.decide import Decision, decide
from suqiu.services.classifier.domain.model import TextModel
from suqiu.services.classifier.domain.region import extract_region
from suqiu.services.classifier.domain.severity import assess_severity
from suqiu.shared.catalogue import Catalogue
from suqiu.shared.contracts import (
    Channel,
    Classification,
    HistoryEntry,
    Region,
    Severity,
    TicketClassified,
    TicketMassIncident,
    TicketStatus,
    TicketTriageRequired,
    WorkOrder,
)

__all__ = [
    "Analysis",
    "analyse",
    "apply_classification",
    "classified_event",
    "classify",
    "mass_incident_event",
    "with_cluster",
]


@dataclass(frozen=True)
class Analysis:
    """Everything the classifier concludes from a text, before it touches a work order."""

    decision: Decision
    region: Region
    severity: Severity
    severity_reasons: list[str]

    def as_json(self) -> dict[str, object]:
        """The `suqiu classify` output line."""
        d = self.decision
        return {
            "category": {"l1": d.category, "l2": d.subcategory},
            "category_scores": [[n, p] for n, p in d.category_scores],
            "department": d.department,
            "department_top": [[n, p] for n, p in d.department_top],
            "region": {"province": self.region.province, "city": self.region.city,
                       "district": self.region.district, "street": self.region.street,
                       "community": self.region.community, "matched": self.region.matched},
            "severity": self.severity.value,
            "severity_reasons": self.severity_reasons,
            "confidence": d.confidence,
            "needs_triage": d.needs_triage,
            "department_confidence": d.department_confidence,
            "decided_by": d.decided_by,
            "matched_keywords": list(d.keywords),
        }


def analyse(text: str, catalogue: Catalogue, model: TextModel | None, *,
            title: str | None = None, address: str | None = None,
            channel: Channel = Channel.WEB, national_gazetteer: bool = True,
            channel_details: Mapping[str, Any] | None = None) -> Analysis:
    """Category, department, region and severity of one complaint."""
    full = f"{title} {text}" if title else text
    severity, reasons = assess_severity(full, channel, catalogue.severity_words, channel_details)
    return Analysis(
        decision=decide(full, catalogue, model),
        region=extract_region(address, full, catalogue, national=national_gazetteer),
        severity=severity,
        severity_reasons=reasons,
    )


def classify(order: WorkOrder, catalogue: Catalogue, now: datetime,
             model: TextModel | None = None, *, national_gazetteer: bool = True
             ) -> Classification:
    """The work order's classification with confidence and reasons."""
    a = analyse(order.analysis_text, catalogue, model, title=order.content.title,
                address=order.location.address, channel=order.channel,
                national_gazetteer=national_gazetteer, channel_details=order.channel_details)
    d = a.decision
    return Classification(
        category=d.category,
        subcategory=d.subcategory,
        department=d.department,
        region=a.region,
        severity=a.severity,
        severity_reasons=a.severity_reasons,
        confidence=d.confidence,
        matched_keywords=list(d.keywords),
        classified_at=now,
        decided_by=d.decided_by,
        model_version=d.model_version,
        category_scores=d.category_scores,
        department_top=d.department_top,
        needs_triage=d.needs_triage,
    )


def with_cluster(result: Classification, cluster: ClusterAssignment) -> Classification:
    """Record the near-duplicate cluster; a mass incident is at least major (DOMAIN: >= 5户)."""
    update: dict[str, object] = {"cluster_id": cluster.cluster_id,
                                 "cluster_households": cluster.households,
                                 "mass_incident": cluster.mass_incident}
    if cluster.mass_incident:
        update["severity_reasons"] = [*result.severity_reasons,
                                      f"群体性诉求: 同类诉求{cluster.households}户"]
        if result.severity in (Severity.GENERAL, Severity.IMPORTANT):
            update["severity"] = Severity.MAJOR
    return result.model_copy(update=update)


def apply_classification(order: WorkOrder, result: Classification, now: datetime) -> WorkOrder:
    """received -> classified (or -> triage when unsure), with an audit entry."""
    if order.status is not TicketStatus.RECEIVED:
        raise ValueError(f"cannot classify a ticket in status {order.status}")
    to = TicketStatus.TRIAGE if result.needs_triage else TicketStatus.CLASSIFIED
    entry = HistoryEntry(at=now, actor="classifier", action="classify",
                         from_status=order.status, to_status=to,
                         note=f"{result.category}/{result.subcategory or '-'} "
                              f"{result.severity} conf={result.confidence} "
                              f"by={result.decided_by or 'rule'}")
    return order.model_copy(update={
        "status": to, "classification": result, "updated_at": now,
        "version": order.version + 1, "history": [*order.history, entry],
    })


def classified_event(order: WorkOrder, triage_threshold: float = 0.0,
                     department_threshold: float | None = None) -> BaseModel:
    """ticket.classified for the dispatcher, or ticket.triage_required for the triage desk
    (with the confidence and threshold that sent it there: the category's, else the
    department head's)."""
    c = order.classification
    assert c is not None
    if c.needs_triage:
        confidence, threshold = c.confidence, triage_threshold
        if (c.confidence >= triage_threshold and department_threshold is not None
                and c.department_top and c.department_top[0][0] == c.department):
            confidence, threshold = c.department_top[0][1], department_threshold
        return TicketTriageRequired(
            event_id=f"{order.ticket_no}:triage_required",
            ticket_no=order.ticket_no,
            occurred_at=c.classified_at,
            intake_at=order.received_at,
            category=c.category,
            department=c.department,
            confidence=confidence,
            threshold=threshold,
            candidates=[name for name, _ in c.category_scores[:3]],
        )
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


def mass_incident_event(order: WorkOrder, cluster: ClusterAssignment) -> TicketMassIncident:
    """The cluster's members for the dispatcher to merge under the master (first) order."""
    c = order.classification
    assert c is not None
    return TicketMassIncident(
        event_id=f"{cluster.cluster_id}:mass_incident:{order.ticket_no}",
        ticket_no=order.ticket_no,
        occurred_at=c.classified_at,
        intake_at=order.received_at,
        cluster_id=cluster.cluster_id,
        master_ticket_no=cluster.members[0],
        members=list(cluster.members),
        households=cluster.households,
        category=c.category,
        district=c.region.district,
    )
