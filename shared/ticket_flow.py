"""One step of a work order's life, applied exactly once under optimistic concurrency.

Load the order; if the step is already done (a redelivery, or another replica won), re-emit
its event, whose id is fixed, so downstream deduplicates; otherwise apply the pure step,
save under the version read, and publish. A version conflict re-reads and tries again.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from shared.contracts import WorkOrder
from shared.errors import FieldError, PermanentError
from shared.messaging import EventPublisher
from shared.store import Store, VersionConflict

__all__ = ["TicketSteps"]


class TicketSteps:
    def __init__(self, store: Store, publisher: EventPublisher, max_conflicts: int = 5) -> None:
        self._store = store
        self._publisher = publisher
        self._max_conflicts = max_conflicts

    async def load(self, ticket_no: str) -> WorkOrder:
        order = await self._store.get_ticket(ticket_no)
        if order is None:
            raise PermanentError("unknown_ticket", [FieldError(
                "ticket_no", "not_found", "no work order with this ticket number")])
        return order

    async def advance(
        self,
        ticket_no: str,
        *,
        done: Callable[[WorkOrder], bool],
        apply: Callable[[WorkOrder], WorkOrder],
        event: Callable[[WorkOrder], BaseModel],
    ) -> tuple[str, WorkOrder]:
        """Returns ("ok" | "duplicate", the order as stored)."""
        for _ in range(self._max_conflicts):
            order = await self.load(ticket_no)
            if done(order):
                await self._publisher.publish_event(event(order))
                return "duplicate", order
            try:
                changed = apply(order)
            except ValueError as exc:
                raise PermanentError("illegal_transition", [FieldError(
                    "status", "illegal_transition", str(exc))]) from exc
            try:
                saved = await self._store.save_ticket(changed, expected_version=order.version)
            except VersionConflict:
                continue
            await self._publisher.publish_event(event(saved))
            return "ok", saved
        raise VersionConflict(f"{ticket_no}: gave up after {self._max_conflicts} conflicts")
