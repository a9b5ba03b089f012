"""Intake subscriber: any channel's message in, one work order (or a link, or an invalid
order with a call-back task) stored, and the matching event out. Operator commands too."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from faststream.rabbit import RabbitBroker
from pydantic import BaseModel

from suqiu.services.intake.contracts import IntakeMessage, RevalidateCommand
from suqiu.services.intake.domain import (
    Candidate,
    Submission,
    TriageRules,
    find_link,
    invalid_event,
    linked_event,
    new_work_order,
    normalise,
    person_key,
    received_event,
    revalidate,
    triage,
    was_revalidated,
)
from suqiu.services.intake.domain.orders import stored_analysis_text
from suqiu.services.intake.errors import localize, parse_intake_message
from suqiu.services.intake.metrics import IntakeMetrics
from suqiu.services.intake.repository import IntakeRepository
from suqiu.services.intake.settings import IntakeSettings
from suqiu.shared.contracts import TicketStatus, WorkOrder
from suqiu.shared.errors import FieldError, PermanentError
from suqiu.shared.messaging import EventPublisher, ReliableConsumer
from suqiu.shared.outbox import Change, OrderWriter
from suqiu.shared.sla import DeadlineBook
from suqiu.shared.store import DuplicateKey
from suqiu.shared.topology import Topology

__all__ = ["IntakeHandler", "register"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class IntakeHandler:
    """One work order per (channel, channel message id); repeats linked; invalid ones kept."""

    def __init__(self, repo: IntakeRepository, publisher: EventPublisher, metrics: IntakeMetrics,
                 settings: IntakeSettings | None = None,
                 clock: Callable[[], datetime] = _utcnow,
                 deadlines: DeadlineBook | None = None) -> None:
        self._repo = repo
        self._deadlines = deadlines
        self._publisher = publisher
        self._writer = OrderWriter(repo, publisher, "intake.create")
        self._metrics = metrics
        self._settings = settings = settings or IntakeSettings()
        self._rules: TriageRules = settings.triage_rules()
        self._window = timedelta(hours=settings.duplicate_window_hours)
        self._clock = clock

    async def handle(self, message: Any, raw_body: bytes) -> str:
        """Any intake message: a channel's complaint or an operator command."""
        if isinstance(message, RevalidateCommand):
            return await self.revalidate(message.ticket_no, message.operator_id, message.note)
        return await self.accept(message, raw_body)

    async def accept(self, message: Any, raw_body: bytes) -> str:
        started = time.perf_counter()
        try:
            sub = normalise(message)
        except ValueError as exc:  # a message its normaliser cannot read (e.g. broken mail)
            raise PermanentError("normalisation_failed", [localize(FieldError(
                "$", "unreadable_email" if "RFC 5322" in str(exc) else "normalisation_failed",
                str(exc)[:300]))]) from exc
        channel = sub.channel.value
        self._metrics.received.labels(channel).inc()
        self._metrics.normalise_seconds.labels(channel).observe(time.perf_counter() - started)

        # A redelivery, or the channel retried: publish what its write left pending.
        key = person_key(sub, self._settings.person_key_secret)
        prior = await self._repo.prior(sub.intake_key, key, sub.received_at - self._window
                                       if key and self._window else None)
        order = prior.order
        if order is not None:
            structlog.contextvars.bind_contextvars(ticket_no=order.ticket_no)
            await self._writer.flush(order)
            return self._count(channel, "duplicate")
        link = prior.link
        if link is not None:
            structlog.contextvars.bind_contextvars(ticket_no=link["ticket_no"])
            await self._publisher.publish_event(
                linked_event(link["ticket_no"], sub, link["similarity"], link["linked_at"]))
            return self._count(channel, "duplicate")
        return await self._create(sub, raw_body, key, prior.candidates)

    async def _create(self, sub: Submission, raw_body: bytes, key: str | None,
                      candidates: list[Candidate]) -> str:
        now = self._clock()
        channel = sub.channel.value
        match = None
        if candidates:
            match = find_link(stored_analysis_text(sub), sub.received_at, candidates,
                              window=self._window, threshold=self._settings.duplicate_similarity)
        if match and not match.target_invalid:
            record = {"_id": sub.intake_key, "ticket_no": match.ticket_no, "channel": channel,
                      "similarity": match.similarity, "linked_at": now,
                      "received_at": sub.received_at, "raw_payload": raw_body.decode("utf-8")}
            try:
                await self._repo.insert_link(record)
            except DuplicateKey:
                pass  # a concurrent delivery linked it already; the event id is the same
            structlog.contextvars.bind_contextvars(ticket_no=match.ticket_no)
            await self._publisher.publish_event(linked_event(match.ticket_no, sub, match.similarity, now))
            self._metrics.duplicates.labels(channel, "linked").inc()
            return self._count(channel, "linked")

        reasons = triage(stored_analysis_text(sub), self._rules,
                         duplicate_of=match.ticket_no if match else None)
        promised = sub.received_at + timedelta(hours=self._settings.ack_promise_hours)
        if sub.imposed_deadline and sub.imposed_deadline < promised:
            promised = sub.imposed_deadline
        ticket_no = await self._repo.next_ticket_no(now)
        try:
            order = self._stamp(new_work_order(sub, ticket_no, raw_body, now, reasons=reasons,
                                               person_key=key, promised_by=promised),
                                sub.imposed_deadline, promise=True)
        except ValueError as exc:  # never retry what can never succeed
            raise PermanentError("normalisation_failed", [localize(FieldError(
                "$", "normalisation_failed", str(exc).splitlines()[0][:300]))]) from exc
        outcome = "invalid" if reasons else "created"
        structlog.contextvars.bind_contextvars(ticket_no=order.ticket_no)
        try:
            await self._writer.insert(order, [self._announcement(order)])
        except DuplicateKey:  # a concurrent delivery of the same message won the race
            winner = await self._repo.existing(sub.intake_key)
            assert winner is not None
            structlog.contextvars.bind_contextvars(ticket_no=winner.ticket_no)
            await self._writer.flush(winner)
            outcome = "duplicate"
        if outcome == "invalid":
            for r in reasons:
                self._metrics.invalid.labels(channel, r.code).inc()
        return self._count(channel, outcome)

    def _announcement(self, order: WorkOrder) -> BaseModel:
        """ticket.invalid (a call-back task) or ticket.received, stored with the new order."""
        if order.status is TicketStatus.INVALID:
            due = order.sla.due("callback") if order.sla else None
            due = due or order.created_at + timedelta(hours=self._settings.callback_hours)
            return invalid_event(order, due)
        return received_event(order)

    def _stamp(self, order: WorkOrder, imposed: datetime | None = None,
               promise: bool = False) -> WorkOrder:
        """Stored deadlines (first response, call-back) from the one SLA module; a new order's
        receipt promises the first-response deadline unless the channel imposed an earlier one."""
        if self._deadlines is None:
            return order
        order = self._deadlines.stamp(order)
        first = order.sla.due("first_response") if order.sla else None
        if promise and first is not None:
            order = order.model_copy(update={
                "promised_by": imposed if imposed and imposed < first else first})
        return order

    def _count(self, channel: str, outcome: str) -> str:
        if outcome == "duplicate":
            self._metrics.duplicates.labels(channel, "redelivery").inc()
        self._metrics.tickets.labels(channel, outcome).inc()
        return outcome

    async def revalidate(self, ticket_no: str, operator_id: str, note: str | None = None) -> str:
        """invalid -> received, then ticket.received so the order flows on. Idempotent."""
        structlog.contextvars.bind_contextvars(ticket_no=ticket_no)
        order = await self._repo.get_ticket(ticket_no)
        if order is None:
            raise PermanentError("unknown_ticket", [localize(FieldError(
                "ticket_no", "not_found", "no work order with this ticket number"))])
        now = self._clock()

        def step(o: WorkOrder) -> Change | None:
            if o.status is not TicketStatus.INVALID:
                if was_revalidated(o):  # a repeated command: publish what is still pending
                    return None
                raise PermanentError("illegal_transition", [localize(FieldError(
                    "status", "illegal_transition", f"the order is {o.status.value}, not invalid"))])
            changed = self._stamp(revalidate(o, operator_id, now, note))
            return changed, [received_event(changed)]

        written = await self._writer.at("intake.revalidate").apply(order, step)
        if written.outcome == "ok":
            self._metrics.revalidated.inc()
        return written.outcome


def register(consumer: ReliableConsumer, broker: RabbitBroker, topology: Topology,
             handler: IntakeHandler, prefetch: int) -> None:
    """Subscribe the intake queue: every channel's message type and operator commands."""
    consumer.subscribe(
        broker, topology.consume_spec("intake"), prefetch=prefetch,
        parse=parse_intake_message,
        handle=lambda msg, message: handler.handle(msg, message.body),
        description="Complaints from every channel (routing key intake.<channel>): the generic "
                    "envelope `intake.submitted` or a channel's own message (`intake.hotline_call`, "
                    "`intake.web_form`, `intake.wechat`, `intake.email`, `intake.sms`, "
                    "`intake.letter`, `intake.walk_in`, `intake.transfer`, `intake.app`); "
                    "operator commands `intake.revalidate` (routing key intake.command).",
        schema=IntakeMessage,
    )
