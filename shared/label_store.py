"""Training labels in the store (collection `labels`, `_id` = ticket number, index on `at`):
one document per work order, written by `_id` conditionally on its version. The one
implementation of the label write: the dispatcher records people's decisions through it
(services/dispatcher/repository.py) and the classifier's training reads the window."""

from __future__ import annotations

from datetime import datetime

from pymongo.errors import PyMongoError

from suqiu.shared.contracts import WorkOrder
from suqiu.shared.labels import Label, LabelDecision, apply_decision
from suqiu.shared.store import DuplicateKey, Store, StoreUnavailable, VersionConflict

__all__ = ["LABELS", "Labels", "record_label"]

LABELS = "labels"


class Labels:
    """Training labels: one document per work order, written by `_id` on a version."""

    def __init__(self, store: Store, attempts: int = 5) -> None:
        self._store = store
        self._attempts = attempts

    async def get(self, ticket_no: str) -> Label | None:
        doc = await self._store.find_one(LABELS, {"_id": ticket_no})
        return Label.from_document(doc) if doc else None

    async def record(self, order: WorkOrder, decision: LabelDecision) -> Label:
        """Apply one person's decision to the order's label (a repeated decision is a no-op)."""
        for _ in range(self._attempts):
            current = await self.get(order.ticket_no)
            new = apply_decision(current, order, decision)
            if new is None:
                assert current is not None
                return current
            if current is None:
                try:
                    await self._store.insert(LABELS, new.to_document())
                    return new
                except DuplicateKey:
                    continue
            elif await self._store.replace_by_id(LABELS, new.to_document(),
                                                 condition={"version": current.version}):
                return new
        raise VersionConflict(f"label {order.ticket_no}: {self._attempts} concurrent writers")

    async def window(self, since: datetime, until: datetime, limit: int = 100_000
                     ) -> list[Label]:
        """Labels decided in [since, until), oldest first (a range on the indexed `at`)."""
        try:
            cursor = self._store.collection(LABELS).find(
                {"at": {"$gte": since, "$lt": until}}).sort("at", 1).limit(limit)
            return [Label.from_document(d) async for d in cursor]
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc


async def record_label(store: Store, order: WorkOrder, decision: LabelDecision) -> Label:
    """Apply one person's decision to the order's label (idempotent per decision id)."""
    return await Labels(store).record(order, decision)
