"""Application layer: load an order, apply the pure state machine, save under its version,
publish the events. Shared by the AMQP subscriber and the HTTP API."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from pydantic import BaseModel

from services.dispatcher.lifecycle import Command, Policy, Refused, lifecycle_of, transition
from services.dispatcher.metrics import DispatcherMetrics
from services.dispatcher.routing import RoutingRules
from shared.contracts import TicketMassIncident, WorkOrder
from shared.store import Store, VersionConflict

__all__ = ["Lifecycle", "Outcome", "UnknownTicket"]

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]


class Publisher(Protocol):
    async def publish_event(self, event: BaseModel) -> None: ...


class UnknownTicket(LookupError):
    """No work order has this ticket number."""


class Outcome(BaseModel):
    """What a command did: the order as saved and the events published."""

    outcome: str
    order: WorkOrder
    events: list[str]


class Lifecycle:
    """Commands on work orders, under optimistic concurrency."""

    def __init__(self, store: Store, publisher: Publisher, policy: Policy,
                 rules: RoutingRules, metrics: DispatcherMetrics,
                 clock: Clock = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.policy = policy
        self.rules = rules
        self._publisher = publisher
        self._metrics = metrics
        self._clock = clock

    async def load(self, ticket_no: str) -> WorkOrder:
        order = await self.store.get_ticket(ticket_no)
        if order is None:
            raise UnknownTicket(ticket_no)
        return order

    def now(self) -> datetime:
        return self._clock()

    async def save_and_publish_events(self, events: Iterable[BaseModel]) -> None:
        for event in events:
            await self._publisher.publish_event(event)

    def observe_dispatch(self, order: WorkOrder) -> None:
        if order.dispatch and order.classification:
            self._metrics.dispatched.labels(order.dispatch.department,
                                            order.classification.severity.value).inc()
            self._metrics.pipeline_latency.observe(
                (order.dispatch.dispatched_at - order.received_at).total_seconds())
        else:
            self._metrics.triaged.inc()

    async def save_and_publish(self, before: WorkOrder, after: WorkOrder,
                               events: Iterable[BaseModel]) -> WorkOrder:
        """Save `after` if the order is still at `before.version`; then publish (VersionConflict)."""
        saved = await self.store.save_ticket(after, expected_version=before.version)
        for event in events:
            await self._publisher.publish_event(event)
        return saved

    async def command(self, cmd: Command, *, retries: int = 0,
                      propagate: bool = True) -> Outcome:
        """Apply one command. With `retries`, a version conflict re-reads and re-applies
        (AMQP); without, the conflict is the caller's answer (HTTP: exactly one winner)."""
        for attempt in range(retries + 1):
            order = await self.load(cmd.ticket_no)
            try:
                after, events = transition(order, cmd, self._clock(), self.policy)
            except Refused as exc:
                self._metrics.refused.labels(cmd.action, exc.code).inc()
                raise
            try:
                saved = await self.save_and_publish(order, after, events)
            except VersionConflict:
                self._metrics.conflicts.inc()
                if attempt == retries:
                    raise
                continue
            self._metrics.commands.labels(cmd.action, cmd.role).inc()
            if propagate:
                await self._propagate(saved, cmd)
            return Outcome(outcome="ok", order=saved,
                           events=[e.event_id for e in events])  # type: ignore[attr-defined]
        raise AssertionError("unreachable")

    async def _propagate(self, master: WorkOrder, cmd: Command) -> None:
        """Actions on a mass-incident master apply to every merged order, each with its own
        events (so every complainant gets the reply); a member that cannot follow is logged."""
        members = [m for m in lifecycle_of(master).members if m != master.ticket_no]
        for no in members:
            member = await self.store.get_ticket(no)
            if member is None:
                continue
            lead = lifecycle_of(member).lead
            follow = cmd.model_copy(update={
                "ticket_no": no, "command_id": f"{cmd.command_id}@{no}", "expected_version": None,
                "department": lead if cmd.role == "department" else cmd.department})
            try:
                await self.command(follow, retries=3, propagate=False)
            except (Refused, VersionConflict) as exc:
                log.warning("mass_member_not_followed", member=no, error=str(exc))

    async def merge(self, event: TicketMassIncident) -> str:
        """Merge a mass-incident cluster under its master order (idempotent)."""
        members = list(dict.fromkeys([event.master_ticket_no, *event.members]))
        # Every growth of a cluster repeats its whole member list: touch only the members the
        # master does not hold yet, so a cluster of n orders costs O(n) writes, not O(n^2).
        # Members are marked before the master records them, so a crash in between is
        # repaired by the redelivery.
        master = await self.store.get_ticket(event.master_ticket_no)
        known = set(lifecycle_of(master).members) if master is not None else set()
        changed = False
        for no in members:
            if no != event.master_ticket_no and no not in known:
                changed |= await self._update(no, lambda lc: lc.update(
                    master=event.master_ticket_no))
        changed |= await self._update(event.master_ticket_no, lambda lc: lc.update(
            members=list(dict.fromkeys([*lc.get("members", []), *members]))))
        if changed:
            self._metrics.mass_merged.inc()
        return "ok" if changed else "duplicate"

    async def _update(self, ticket_no: str, edit: Callable[[dict[str, Any]], None]) -> bool:
        for _ in range(5):
            order = await self.store.get_ticket(ticket_no)
            if order is None:
                return False
            lc = lifecycle_of(order).model_dump(mode="python")
            before = dict(lc)
            edit(lc)
            if lc == before:
                return False
            after = order.model_copy(update={"lifecycle": lc, "version": order.version + 1,
                                             "updated_at": self._clock()})
            try:
                await self.store.save_ticket(after, expected_version=order.version)
                return True
            except VersionConflict:
                continue
        raise VersionConflict(f"{ticket_no}: gave up merging")
