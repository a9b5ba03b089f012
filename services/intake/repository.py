"""Intake's access to the store: tickets by idempotency key, ticket numbers."""

from __future__ import annotations

from datetime import datetime

from shared.contracts import WorkOrder
from shared.store import Store
from shared.ticket_numbers import TicketNumbers

__all__ = ["IntakeRepository"]


class IntakeRepository:
    def __init__(self, store: Store, ticket_prefix: str, tz: str) -> None:
        self._store = store
        self._numbers = TicketNumbers(store, ticket_prefix, tz)

    async def existing(self, intake_key: str) -> WorkOrder | None:
        return await self._store.find_ticket_by_intake_key(intake_key)

    async def next_ticket_no(self, now: datetime) -> str:
        return await self._numbers.allocate(now)

    async def insert(self, order: WorkOrder) -> None:
        """DuplicateKey when another delivery already created this intake key's ticket."""
        await self._store.insert_ticket(order)
