"""Intake's access to the store: tickets by idempotency key, linked submissions, a person's
recent tickets, ticket numbers, and the Open311 queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.errors import PyMongoError

from services.intake.domain import Candidate
from shared.contracts import TicketStatus, WorkOrder
from shared.store import Store, StoreUnavailable
from shared.ticket_numbers import TicketNumbers

__all__ = ["IntakeRepository"]

_CANDIDATES = 20


class IntakeRepository:
    def __init__(self, store: Store, ticket_prefix: str, tz: str) -> None:
        self._store = store
        self._numbers = TicketNumbers(store, ticket_prefix, tz)

    async def existing(self, intake_key: str) -> WorkOrder | None:
        return await self._store.find_ticket_by_intake_key(intake_key)

    async def linked(self, intake_key: str) -> dict[str, Any] | None:
        """The link record of a submission that was linked to an existing ticket."""
        return await self._store.find_one("linked_submissions", {"_id": intake_key})

    async def next_ticket_no(self, now: datetime) -> str:
        return await self._numbers.allocate(now)

    async def insert_ticket(self, order: WorkOrder) -> None:
        """DuplicateKey when another delivery already created this intake key's ticket."""
        await self._store.insert_ticket(order)

    async def insert_link(self, record: dict[str, Any]) -> None:
        """DuplicateKey when this submission was linked already (`_id` = its intake key)."""
        await self._store.insert("linked_submissions", record)

    async def get(self, ticket_no: str) -> WorkOrder | None:
        return await self._store.get_ticket(ticket_no)

    async def get_ticket(self, ticket_no: str) -> WorkOrder | None:
        return await self._store.get_ticket(ticket_no)

    async def save_ticket(self, order: WorkOrder, *, expected_version: int,
                          outbox_rev: int | None = None) -> WorkOrder:
        return await self._store.save_ticket(order, expected_version=expected_version,
                                             outbox_rev=outbox_rev)

    async def mark_sent(self, ticket_no: str, keys: Sequence[str]) -> None:
        await self._store.mark_sent(ticket_no, keys)

    async def recent_for_person(self, person_key: str, since: datetime,
                                exclude_intake_key: str) -> list[Candidate]:
        """The person's tickets received since `since` (indexed on person_key, received_at).

        The submission's own ticket is excluded: a concurrent redelivery of the same message
        may have just created it, and it is a duplicate, not a repeat to link.
        """
        docs = await self._find("tickets", {"person_key": person_key, "received_at": {"$gte": since}},
                                limit=_CANDIDATES)
        return [Candidate(d["_id"], d.get("analysis_text", ""), d["received_at"],
                          d.get("status") == TicketStatus.INVALID.value)
                for d in docs if d.get("intake_key") != exclude_intake_key]

    async def tickets_between(self, start: datetime, end: datetime, limit: int) -> list[WorkOrder]:
        docs = await self._find("tickets", {"received_at": {"$gte": start, "$lte": end}}, limit=limit)
        return [WorkOrder.from_document(d) for d in docs]

    async def archive_rejection(self, record: dict[str, Any]) -> None:
        """Bad input that never reached the queue (HTTP): kept like the consumer's rejections."""
        await self._store.insert("rejected_messages", record)

    async def _find(self, collection: str, flt: dict[str, Any], *, limit: int) -> list[dict[str, Any]]:
        try:
            cursor = self._store.collection(collection).find(flt).sort(
                "received_at", DESCENDING).limit(limit)
            return [d async for d in cursor]
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc
