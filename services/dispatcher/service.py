"""Application layer: read an order once, apply the pure rules, write it once with its events
in the outbox (shared/outbox.py), publish them. Shared by the AMQP subscriber and the HTTP API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog
from pydantic import BaseModel

from suqiu.services.dispatcher.domain import (
    Policy,
    Refused,
    dispatch_with_events,
    follow_commands,
    is_applied,
    join_master,
    label_decision,
    record_members,
    transition,
)
from suqiu.services.dispatcher.metrics import DispatcherMetrics
from suqiu.services.dispatcher.repository import DispatcherRepository
from suqiu.services.dispatcher.routing import RoutingRules
from suqiu.shared.background import repeat
from suqiu.shared.contracts import Command, TicketClassified, TicketMassIncident, TicketStatus, WorkOrder
from suqiu.shared.outbox import Change, FaultSwitch, OrderWriter, OutboxPublisher

__all__ = ["LifecycleService", "Outcome", "UnknownTicket"]

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]


class UnknownTicket(LookupError):
    """No work order has this ticket number."""


class Outcome(BaseModel):
    """What a command did: `ok` or `duplicate`, the order as stored, the entries it added."""

    outcome: str
    order: WorkOrder
    events: list[str]


class LifecycleService:
    """Dispatch, commands and mass-incident merges on work orders."""

    def __init__(self, repo: DispatcherRepository, publisher: OutboxPublisher, policy: Policy,
                 rules: RoutingRules, metrics: DispatcherMetrics,
                 clock: Clock = lambda: datetime.now(UTC), fault: FaultSwitch | None = None,
                 max_conflicts: int = 5) -> None:
        self.repo = repo
        self.policy = policy
        self.rules = rules
        self._metrics = metrics
        self._clock = clock
        self._writer = OrderWriter(repo, publisher, "dispatcher.command",
                                   max_conflicts=max_conflicts, fault=fault,
                                   on_conflict=metrics.conflicts.inc)

    async def load(self, ticket_no: str) -> WorkOrder:
        order = await self.repo.get_ticket(ticket_no)
        if order is None:
            raise UnknownTicket(ticket_no)
        return order

    async def dispatch(self, event: TicketClassified) -> str:
        """classified -> dispatched (or triage); a redelivery publishes what is still pending."""
        order = await self.load(event.ticket_no)
        now = self._clock()

        def step(o: WorkOrder) -> Change | None:
            if o.status is not TicketStatus.CLASSIFIED:
                return None
            return dispatch_with_events(o, self.policy.catalogue, now, self.rules, self.policy)

        written = await self._writer.at("dispatcher.dispatch").apply(
            order, step, consumed=event.event_id)
        if written.outcome == "ok":
            self._observe_dispatch(written.order)
        else:  # a redelivery: the first delivery may have stopped before the inbox entries
            await self.repo.refresh_inbox(written.order)
        return written.outcome

    async def command(self, cmd: Command, *, retries: int = 0,
                      order: WorkOrder | None = None) -> Outcome:
        """Apply one command to `order` (read here unless the caller just read it). With
        `retries`, a version conflict re-reads and re-applies (AMQP); without, the conflict is
        the caller's answer (HTTP: exactly one winner). A command on a mass-incident master
        puts a copy for every member in its outbox."""
        order = order if order is not None else await self.load(cmd.ticket_no)
        now = self._clock()

        def step(o: WorkOrder) -> Change | None:
            if is_applied(o, cmd):
                return None
            after, events = transition(o, cmd, now, self.policy)
            return after, [*events, *follow_commands(after, cmd)]

        try:
            written = await self._writer.apply(order, step, retries=retries)
        except Refused as exc:
            self._metrics.refused.labels(cmd.action, exc.code).inc()
            raise
        if written.outcome == "ok":
            self._metrics.commands.labels(cmd.action, cmd.role).inc()
        elif is_applied(written.order, cmd):  # see dispatch(): repair the inbox entries
            await self.repo.refresh_inbox(written.order)
        await self._record_label(written.order, cmd, now, raise_errors=retries > 0)
        return Outcome(outcome=written.outcome, order=written.order, events=written.event_ids)

    async def merge(self, event: TicketMassIncident) -> str:
        """Merge a mass-incident cluster under its master order (idempotent).

        Every growth of a cluster repeats its whole member list: only the members the master
        does not hold yet are touched (O(n) writes per cluster). Members are marked before the
        master records them, so a crash in between is repaired by the redelivery."""
        master_no = event.master_ticket_no
        members = list(dict.fromkeys([master_no, *event.members]))
        master = await self.repo.get_ticket(master_no)
        known = set(master.lifecycle.members) if master and master.lifecycle else set()
        writer = self._writer.at("dispatcher.merge")
        now = self._clock()
        changed = False
        for no in members:
            if no == master_no or no in known:
                continue
            member = await self.repo.get_ticket(no)
            if member is None:
                continue
            written = await writer.apply(member, lambda o: _no_events(join_master(o, master_no,
                                                                                  now)))
            changed |= written.outcome == "ok"
        if master is not None:
            written = await writer.apply(master, lambda o: _no_events(record_members(o, members,
                                                                                     now)))
            changed |= written.outcome == "ok"
        if changed:
            self._metrics.mass_merged.inc()
        return "ok" if changed else "duplicate"

    async def _record_label(self, stored: WorkOrder, cmd: Command, now: datetime, *,
                            raise_errors: bool) -> None:
        """A person's decision becomes a training label after the order is saved (also for a
        command applied before: the label write is idempotent per command id, so a crash
        before it is repaired). A failed label write does not undo the command: with AMQP
        (`raise_errors`) the error is raised so the broker redelivers the command; over HTTP
        it is logged and the client's retry with the same command id records it."""
        if not is_applied(stored, cmd):
            return
        decision = label_decision(stored, cmd, now)
        if decision is None:
            return
        try:
            await self.repo.record_label(stored, decision)
        except Exception as exc:
            log.warning("label_write_failed", action=cmd.action, error=type(exc).__name__)
            if raise_errors:
                raise

    async def sweep_outboxes(self, age_s: float, limit: int) -> int:
        """Publish what orders have held in their outbox for longer than `age_s` (an HTTP
        command cut by a crash, an order nobody touched since): one bounded walk; returns how
        many orders it flushed. Entries are published with their own ids (consumers
        deduplicate), so a replica sweeping the same order at once does no harm."""
        now = self._clock()
        stale = await self.repo.left_pending(now - timedelta(seconds=age_s), limit)
        for order in stale:
            try:
                await self._writer.at("dispatcher.sweep").flush(order)
            except Exception as exc:  # the next sweep retries
                log.warning("outbox_sweep_failed", ticket_no=order.ticket_no,
                            error=type(exc).__name__)
                continue
            self._metrics.swept.inc(len(order.outbox))
            log.info("outbox_swept", ticket_no=order.ticket_no, entries=len(order.outbox))
        return len(stale)

    async def sweep_forever(self, interval_s: float, age_s: float, limit: int) -> None:
        """Background loop of `sweep_outboxes`; a failing walk is logged and retried."""
        await repeat(lambda: self.sweep_outboxes(age_s, limit), interval_s=interval_s,
                     failure_event="outbox_sweep_failed", batch=limit)

    def _observe_dispatch(self, order: WorkOrder) -> None:
        if order.dispatch and order.classification:
            self._metrics.dispatched.labels(order.dispatch.department,
                                            order.classification.severity.value).inc()
            self._metrics.pipeline_latency.observe(
                (order.dispatch.dispatched_at - order.received_at).total_seconds())
        else:
            self._metrics.triaged.inc()


def _no_events(order: WorkOrder | None) -> Change | None:
    return None if order is None else (order, [])
