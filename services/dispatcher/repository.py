"""The dispatcher's only access to the store: work orders by number, written under their
version with their outbox, and the department inbox / triage queue reads. Driver errors are
translated here (StoreUnavailable), so nothing above imports pymongo."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.errors import PyMongoError

from shared.contracts import TicketStatus, WorkOrder
from shared.label_store import Labels
from shared.labels import Label, LabelDecision
from shared.store import Store, StoreUnavailable

__all__ = ["DispatcherRepository"]


class DispatcherRepository:
    """Implements shared.outbox.OutboxStore for the dispatcher, plus its list queries."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get_ticket(self, ticket_no: str) -> WorkOrder | None:
        return await self._store.get_ticket(ticket_no)

    async def save_ticket(self, order: WorkOrder, *, expected_version: int,
                          outbox_rev: int | None = None) -> WorkOrder:
        return await self._store.save_ticket(order, expected_version=expected_version,
                                             outbox_rev=outbox_rev)

    async def insert_ticket(self, order: WorkOrder) -> None:
        await self._store.insert_ticket(order)

    async def mark_sent(self, ticket_no: str, keys: Sequence[str]) -> None:
        await self._store.mark_sent(ticket_no, keys)

    async def record_label(self, order: WorkOrder, decision: LabelDecision) -> Label:
        """A person's decision as a training label (shared.label_store: one implementation,
        idempotent per decision id)."""
        try:
            return await Labels(self._store).record(order, decision)
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def department_orders(self, department: str | None, status: str | None,
                                limit: int) -> list[WorkOrder]:
        """Orders a department leads or assists (every department's when None), by status."""
        flt: dict[str, Any] = {}
        if department:
            flt["$or"] = [{"dispatch.department": department},
                          {"dispatch.co_departments": department}]
        if status:
            flt["status"] = status
        return await self._find(flt, limit)

    async def triage_queue(self, limit: int) -> list[WorkOrder]:
        """Orders waiting in the triage queue (人工分拨)."""
        return await self._find({"status": TicketStatus.TRIAGE.value}, limit)

    async def _find(self, flt: dict[str, Any], limit: int) -> list[WorkOrder]:
        try:
            cursor = self._store.tickets.find(flt).limit(limit)
            docs = [doc async for doc in cursor]
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return [WorkOrder.from_document(d) for d in docs]
