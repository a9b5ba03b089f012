"""Classifier subscriber: ticket.received in, classification stored, then
ticket.classified (or ticket.triage_required) out, plus ticket.mass_incident for clusters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from faststream.rabbit import RabbitBroker
from pydantic import BaseModel

from suqiu.services.classifier.domain.classify import (
    apply_classification,
    classified_event,
    classify,
    mass_incident_event,
    with_cluster,
)
from suqiu.services.classifier.domain.clustering import (
    ClusterAssignment,
    Member,
    assign_cluster,
    household_key,
    region_key,
    signature,
)
from suqiu.services.classifier.domain.decide import thresholds
from suqiu.services.classifier.metrics import ClassifierMetrics
from suqiu.services.classifier.model_holder import ModelHolder
from suqiu.services.classifier.repository import Orders, Signatures
from suqiu.shared.catalogue import Catalogue
from suqiu.shared.contracts import Classification, TicketReceived, TicketStatus, WorkOrder
from suqiu.shared.errors import FieldError, PermanentError
from suqiu.shared.messaging import ReliableConsumer
from suqiu.shared.outbox import Change, OrderWriter, OutboxPublisher
from suqiu.shared.topology import Topology

__all__ = ["ClassifierHandler", "register"]


class ClassifierHandler:
    def __init__(self, orders: Orders, publisher: OutboxPublisher, catalogue: Catalogue,
                 metrics: ClassifierMetrics, *, models: ModelHolder | None = None,
                 signatures: Signatures | None = None, national_gazetteer: bool = True,
                 ) -> None:
        self._orders = orders
        self._writer = OrderWriter(orders, publisher, "classifier.classify")
        self._catalogue = catalogue
        self._metrics = metrics
        self._models = models or ModelHolder(None)
        self._signatures = signatures
        self._national = national_gazetteer
        if self._models.model is not None:
            metrics.model_info.labels(self._models.model.version).set(1)

    async def _cluster(self, order: WorkOrder, result: Classification) -> ClusterAssignment:
        assert self._signatures is not None
        policy = self._catalogue.classifier
        key = region_key(result.region)
        at = order.received_at
        recent = await self._signatures.recent(
            key, at - timedelta(hours=policy.duplicate_window_hours))
        sig = signature(order.analysis_text)
        household = household_key(order)
        first = assign_cluster(order.ticket_no, household, at, sig, recent, policy)
        stored = await self._signatures.record(
            Member(order.ticket_no, first.cluster_id, household, at, sig), key)
        if stored.cluster_id == first.cluster_id:
            return first
        # A redelivery: keep the cluster chosen the first time.
        same = [m for m in recent if m.cluster_id == stored.cluster_id
                and m.ticket_no != order.ticket_no]
        households = len({m.household for m in same} | {household})
        return ClusterAssignment(
            stored.cluster_id, (*[m.ticket_no for m in same], order.ticket_no), households,
            households >= policy.mass_incident_households, first.best_similarity)

    async def on_received(self, event: TicketReceived) -> str:
        """Classify once: the verdict, ticket.classified (or triage_required) and, for a
        cluster that reached the mass-incident size, ticket.mass_incident in one write."""
        structlog.contextvars.bind_contextvars(ticket_no=event.ticket_no)
        model = self._models.current()
        if model is not None:
            self._metrics.model_info.labels(model.version).set(1)
        order = await self._orders.get_ticket(event.ticket_no)
        if order is None:
            raise PermanentError("unknown_ticket", [FieldError(
                "ticket_no", "not_found", "no work order with this ticket number")])
        now = datetime.now(UTC)
        result: Classification | None = None
        cluster: ClusterAssignment | None = None
        if order.classification is None and order.status is TicketStatus.RECEIVED:
            result = classify(order, self._catalogue, now, model,
                              national_gazetteer=self._national)
            if self._signatures is not None:
                cluster = await self._cluster(order, result)
                result = with_cluster(result, cluster)
        limits = thresholds(model, self._catalogue)  # the model's, else the catalogue's

        def step(o: WorkOrder) -> Change | None:
            if o.classification is not None:
                return None  # classified before: a redelivery or another replica
            verdict = result or classify(o, self._catalogue, now, model,
                                         national_gazetteer=self._national)
            try:
                changed = apply_classification(o, verdict, now)
            except ValueError as exc:
                raise PermanentError("illegal_transition", [FieldError(
                    "status", "illegal_transition", str(exc))]) from exc
            events: list[BaseModel] = [classified_event(changed, limits.category, limits.department)]
            c = changed.classification
            if c is not None and c.mass_incident and cluster is not None \
                    and cluster.cluster_id == c.cluster_id:
                events.append(mass_incident_event(changed, cluster))
            return changed, events

        written = await self._writer.apply(order, step, consumed=event.event_id)
        c = written.order.classification
        if written.outcome == "ok" and c is not None:
            self._metrics.classified.labels(c.category, c.severity.value).inc()
            self._metrics.confidence.observe(c.confidence)
            self._metrics.decided_by.labels(c.decided_by or "rule").inc()
            if c.needs_triage:
                self._metrics.triage.inc()
            if c.mass_incident:
                self._metrics.mass_incidents.inc()
        return written.outcome


def register(consumer: ReliableConsumer, broker: RabbitBroker, topology: Topology,
             handler: ClassifierHandler, prefetch: int) -> None:
    consumer.subscribe(
        broker, topology.consume_spec("classifier"), prefetch=prefetch,
        parse=TicketReceived.model_validate,
        handle=lambda event, _: handler.on_received(event),
        description="ticket.received events: classify the new work order.",
    )
