"""Intake's access to the store: tickets by idempotency key, linked submissions, a person's
recent tickets, ticket numbers, the raw payloads, and the Open311 queries.

Every query is one index walk (see shared/store.py): a person's recent tickets are the
range `person_at` = `<person>|<received_at>` (shared/keys.py). The raw intake payload is
stored apart from the work order, in `intake_payloads` (`_id` = intake key): the order that
every stage reads and rewrites stays small, and no downstream service loads the payload.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import DESCENDING

from suqiu.services.intake.domain import Candidate
from suqiu.shared.contracts import TicketStatus, WorkOrder
from suqiu.shared.keys import TIME_KEY, at_key, key_range
from suqiu.shared.store import DuplicateKey, Store
from suqiu.shared.ticket_numbers import TicketNumbers

__all__ = ["PAYLOADS", "IntakeRepository", "Prior"]

PAYLOADS = "intake_payloads"
_CANDIDATES = 20
_PERSON_FIELDS = {"_id": 1, "intake_key": 1, "analysis_text": 1, "received_at": 1, "status": 1}


@dataclass
class Prior:
    """What the store already knows about a submission: its ticket, its link, or the
    person's other recent tickets (candidates for linking a repeat)."""

    order: WorkOrder | None = None
    link: dict[str, Any] | None = None
    candidates: list[Candidate] = field(default_factory=list)


class IntakeRepository:
    def __init__(self, store: Store, ticket_prefix: str, tz: str, ticket_block: int = 1) -> None:
        self._store = store
        self._numbers = TicketNumbers(store, ticket_prefix, tz, ticket_block)

    async def prior(self, intake_key: str, person_key: str | None,
                    since: datetime | None) -> Prior:
        """The submission's earlier outcome and the person's candidates, in as few reads as
        possible: none without a person key (the ticket insert's unique intake key catches a
        redelivery), one range read with one (its own ticket is among the results), and the
        link lookup only when the person has other recent tickets (no candidate, no link).
        """
        if not person_key or since is None:
            return Prior()
        docs = await self._store.find(
            "tickets", {"person_at": key_range(person_key, since)},
            sort=[("person_at", DESCENDING)], limit=_CANDIDATES, projection=_PERSON_FIELDS)
        own = next((d for d in docs if d.get("intake_key") == intake_key), None)
        if own is not None:
            return Prior(order=await self.get(own["_id"]))
        candidates = [Candidate(d["_id"], d.get("analysis_text", ""), d["received_at"],
                                d.get("status") == TicketStatus.INVALID.value) for d in docs]
        if not candidates:
            return Prior()
        return Prior(link=await self.linked(intake_key), candidates=candidates)

    async def existing(self, intake_key: str) -> WorkOrder | None:
        return await self._store.find_ticket_by_intake_key(intake_key)

    async def linked(self, intake_key: str) -> dict[str, Any] | None:
        """The link record of a submission that was linked to an existing ticket."""
        return await self._store.find_one("linked_submissions", {"_id": intake_key})

    async def next_ticket_no(self, now: datetime) -> str:
        return await self._numbers.allocate(now)

    async def insert_ticket(self, order: WorkOrder) -> None:
        """Store the raw payload apart, then the order without it.

        DuplicateKey when another delivery already created this intake key's ticket.
        """
        if order.raw_payload is not None:
            try:
                await self._store.insert(PAYLOADS, {
                    "_id": order.intake_key, "ticket_no": order.ticket_no,
                    "channel": order.channel.value, "received_at": order.received_at,
                    "raw_payload": order.raw_payload})
            except DuplicateKey:
                pass  # a redelivery: the first delivery's payload stays
        await self._store.insert_ticket(order.model_copy(update={"raw_payload": None}))

    async def raw_payload(self, intake_key: str) -> str | None:
        """The intake message body exactly as received, by intake key."""
        doc = await self._store.find_one(PAYLOADS, {"_id": intake_key})
        return doc["raw_payload"] if doc else None

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
        """The person's tickets received since `since`, newest first (bounded).

        The submission's own ticket is excluded: a concurrent redelivery of the same message
        may have just created it, and it is a duplicate, not a repeat to link.
        """
        docs = await self._store.find(
            "tickets", {"person_at": key_range(person_key, since)},
            sort=[("person_at", DESCENDING)], limit=_CANDIDATES, projection=_PERSON_FIELDS)
        return [Candidate(d["_id"], d.get("analysis_text", ""), d["received_at"],
                          d.get("status") == TicketStatus.INVALID.value)
                for d in docs if d.get("intake_key") != exclude_intake_key]

    async def tickets_between(self, start: datetime, end: datetime, limit: int) -> list[WorkOrder]:
        """Orders received between `start` and `end`, newest first (a range on the string
        key `received_key`: nx-27017 walks a datetime range slowly, seconds at 200,000)."""
        docs = await self._store.find("tickets", {"received_key": key_range("at", start, end)},
                                      sort=[("received_key", DESCENDING)], limit=limit)
        return [WorkOrder.from_document(d) for d in docs]

    async def archive_rejection(self, record: dict[str, Any]) -> None:
        if isinstance(record.get("received_at"), datetime):
            record = record | {"received_key": at_key(TIME_KEY, record["received_at"])}
        """Bad input that never reached the queue (HTTP): kept like the consumer's rejections."""
        await self._store.insert("rejected_messages", record)
