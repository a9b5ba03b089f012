"""The classifier's storage: work orders (read by number, written under their version with
their outbox), and the recent near-duplicate signatures per region (collection
`duplicate_signatures`, `_id` = ticket), and the training labels people decided
(collection `labels`, `_id` = ticket, index on `at`).

A region's recent signatures and a cluster's members are ranges on one indexed key each,
`region_at = "<region>|<at>"` and `cluster_at = "<cluster>|<at>"` (shared/keys.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo.errors import PyMongoError

from suqiu.services.classifier.domain.clustering import Member
from suqiu.shared.contracts import WorkOrder
from suqiu.shared.keys import at_key, key_range
from suqiu.shared.label_store import LABELS, Labels, record_label
from suqiu.shared.store import DuplicateKey, Store, StoreUnavailable

__all__ = ["LABELS", "SIGNATURES", "Labels", "Orders", "Signatures", "labelled_history",
           "record_label"]

SIGNATURES = "duplicate_signatures"


class Orders:
    """Work orders as the classifier reads and writes them (shared.outbox.OutboxStore)."""

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


def _member(doc: Mapping[str, Any]) -> Member:
    return Member(ticket_no=doc["_id"], cluster_id=doc["cluster_id"], household=doc["household"],
                  at=doc["at"], signature=doc["sig"])


class Signatures:
    """Recent signatures of a region, and this order's own, written once."""

    def __init__(self, store: Store, limit: int = 1000) -> None:
        self._store = store
        self._limit = limit

    async def recent(self, region_key: str, since: datetime) -> list[Member]:
        """Signatures of the region received since `since`, oldest first (bounded)."""
        docs = await self._store.find(SIGNATURES, {"region_at": key_range(region_key, since)},
                                      sort=[("region_at", 1)], limit=self._limit)
        return [_member(d) for d in docs]

    async def members(self, cluster_id: str) -> list[str]:
        """Ticket numbers of a cluster, oldest first."""
        docs = await self._store.find(SIGNATURES, {"cluster_at": key_range(cluster_id)},
                                      sort=[("cluster_at", 1)], limit=self._limit,
                                      projection={"_id": 1})
        return [d["_id"] for d in docs]

    async def record(self, member: Member, region_key: str) -> Member:
        """Store the order's signature once; a redelivery gets the first assignment back."""
        doc = {"_id": member.ticket_no, "region_key": region_key, "at": member.at,
               "household": member.household, "cluster_id": member.cluster_id,
               "sig": list(member.signature),
               "region_at": at_key(region_key, member.at),
               "cluster_at": at_key(member.cluster_id, member.at)}
        try:
            await self._store.insert(SIGNATURES, doc)
            return member
        except DuplicateKey:
            existing = await self._store.find_one(SIGNATURES, {"_id": member.ticket_no})
            return _member(existing) if existing else member


async def labelled_history(store: Store, limit: int = 100_000) -> list[dict[str, Any]]:
    """Training lines from handled work orders: the text, the category the order ended with,
    and the department it was finally dispatched to (after any transfer by staff)."""
    flt = {"classification": {"$ne": None}, "dispatch": {"$ne": None}}
    rows: list[dict[str, Any]] = []
    try:
        cursor = store.tickets.find(flt, {"analysis_text": 1, "content": 1, "classification": 1,
                                          "dispatch": 1}).limit(limit)
        async for doc in cursor:
            c, d = doc.get("classification") or {}, doc.get("dispatch") or {}
            text = doc.get("analysis_text") or (doc.get("content") or {}).get("text")
            if not text:
                continue
            rows.append({"text": text, "title": (doc.get("content") or {}).get("title"),
                         "category": c.get("category"), "subcategory": c.get("subcategory"),
                         "department": d.get("department") or c.get("department")})
    except PyMongoError as exc:
        raise StoreUnavailable(str(exc)) from exc
    return rows
