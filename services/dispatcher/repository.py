"""The dispatcher's only access to the store: work orders by number, written under their
version with their outbox and followed by their inbox entries (collection `dispatch_inbox`,
services/dispatcher/domain/inbox.py), the department inbox / triage queue reads and the
training labels people decide. Driver errors are translated here (StoreUnavailable), so
nothing above imports pymongo."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo.errors import PyMongoError

from suqiu.services.dispatcher.domain.inbox import due_prefix, inbox_entries
from suqiu.shared.contracts import TicketStatus, WorkOrder
from suqiu.shared.contracts.tickets import OUTBOX_PENDING
from suqiu.shared.keys import key_range
from suqiu.shared.label_store import Labels
from suqiu.shared.labels import Label, LabelDecision
from suqiu.shared.store import Store, StoreUnavailable

__all__ = ["INBOX", "DispatcherRepository"]

INBOX = "dispatch_inbox"


class DispatcherRepository:
    """Implements shared.outbox.OutboxStore for the dispatcher, plus its list queries."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get_ticket(self, ticket_no: str) -> WorkOrder | None:
        return await self._store.get_ticket(ticket_no)

    async def save_ticket(self, order: WorkOrder, *, expected_version: int,
                          outbox_rev: int | None = None) -> WorkOrder:
        """The conditional write of the order, then its inbox entries in one command. A
        failure of the latter raises after the order is saved, like a crash: the command's
        redelivery (or the client's retry) finds it applied and writes them (`refresh_inbox`)."""
        saved = await self._store.save_ticket(order, expected_version=expected_version,
                                              outbox_rev=outbox_rev)
        await self.refresh_inbox(saved)
        return saved

    async def insert_ticket(self, order: WorkOrder) -> None:
        await self._store.insert_ticket(order)
        await self.refresh_inbox(order)

    async def refresh_inbox(self, order: WorkOrder) -> None:
        """Write the order's inbox entries (never over a newer version's)."""
        await self._store.replace_newer(INBOX, inbox_entries(order))

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
        """Orders a department leads or assists (every department's when None), soonest
        resolution deadline first: open ones, or those in `status`. A range on one indexed
        key of the inbox entries, then the orders by `_id` (the caller checks them: an entry
        written before a crash may be stale)."""
        field = "status_due" if status else "open_due"
        entries = await self._store.find(INBOX, {field: key_range(due_prefix(department, status))},
                                         sort=[(field, 1)], limit=limit,
                                         projection={"ticket_no": 1})
        return await self._by_numbers([e["ticket_no"] for e in entries])

    async def _by_numbers(self, numbers: list[str]) -> list[WorkOrder]:
        if not numbers:
            return []
        return await self._find({"_id": {"$in": numbers}}, len(numbers))

    async def left_pending(self, before: datetime, limit: int) -> list[WorkOrder]:
        """Orders whose outbox has held entries since before `before`, oldest first (a range
        on the indexed `outbox_since`, bounded)."""
        docs = await self._store.find(
            "tickets", {"outbox_since": key_range(OUTBOX_PENDING, until=before)},
            sort=[("outbox_since", 1)], limit=limit)
        return [WorkOrder.from_document(d) for d in docs]

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
