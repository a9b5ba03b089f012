"""The storage contract: every MongoDB operation the services rely on, against a real server.

Runs against nx-27017 by default and against a real MongoDB when MONGO_URL is set; both must
pass, so anything proven here is portable. Each test gets its own database (the namespace).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from suqiu.shared.contracts import TicketStatus
from suqiu.shared.store import DuplicateKey, Store, VersionConflict
from tests.factories import T0, make_order

pytestmark = pytest.mark.integration

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def store(mongo_url: str, namespace: str) -> AsyncIterator[Store]:
    """A Store on a fresh database with every index in place; the database is dropped after."""
    s = Store(mongo_url, namespace)
    await s.ensure_indexes()
    try:
        yield s
    finally:
        await s.db.client.drop_database(namespace)
        await s.close()


@pytest.fixture
async def other_store(mongo_url: str, namespace: str) -> AsyncIterator[Store]:
    """A second, independent client on the same database (another replica)."""
    s = Store(mongo_url, namespace)
    try:
        yield s
    finally:
        await s.close()


def _ticket_doc(_id: str, **fields: object) -> dict[str, object]:
    return {"_id": _id, "intake_key": f"web:{_id}", "status": "received", "version": 1,
            "updated_at": T0, **fields}


async def test_ensure_indexes_is_idempotent(store: Store, other_store: Store) -> None:
    await store.ensure_indexes()
    await asyncio.gather(store.ensure_indexes(), other_store.ensure_indexes())

    info = await store.tickets.index_information()
    unique = [spec for spec in info.values() if spec.get("key") == [("intake_key", 1)]]
    assert len(unique) == 1 and unique[0].get("unique") is True
    timers = await store.collection("sla_timers").index_information()
    assert [("state", 1), ("fire_at", 1)] in [spec["key"] for spec in timers.values()]


async def test_unique_intake_key_raises_duplicate_key(store: Store) -> None:
    await store.insert("tickets", _ticket_doc("SQ-1", intake_key="hotline:call-1"))

    with pytest.raises(DuplicateKey):
        await store.insert("tickets", _ticket_doc("SQ-2", intake_key="hotline:call-1"))
    with pytest.raises(DuplicateKey):
        await store.insert("tickets", _ticket_doc("SQ-1", intake_key="hotline:call-other"))

    assert await store.tickets.count_documents({}) == 1
    assert (await store.find_one("tickets", {"intake_key": "hotline:call-1"}) or {})["_id"] == "SQ-1"


async def test_insert_find_one_round_trip_keeps_types(store: Store) -> None:
    at = datetime(2026, 11, 23, 18, 30, 15, 123000, tzinfo=SHANGHAI)  # ms: BSON precision
    doc = {
        "_id": "SQ-RT",
        "intake_key": "web:rt",
        "received_at": at,
        "nested": {"a": 1, "b": {"c": "文新街道", "d": [1, 2.5, None, True]}},
        "history": [
            {"at": at, "actor": "intake", "to_status": "received", "note": None},
            {"at": at + timedelta(minutes=1), "actor": "classifier", "tags": ["x", "y"]},
        ],
        "empty_list": [],
        "empty_dict": {},
    }
    await store.insert("tickets", doc)

    got = await store.find_one("tickets", {"_id": "SQ-RT"})

    assert got == doc
    assert got is not None
    assert got["received_at"].tzinfo is not None
    assert got["received_at"] == at
    assert isinstance(got["history"][1]["at"], datetime)
    assert got["history"][1]["at"].tzinfo is not None
    assert isinstance(got["history"], list) and isinstance(got["history"][0], dict)


async def test_replace_by_id_with_condition_matches_once(store: Store) -> None:
    await store.insert("tickets", _ticket_doc("SQ-R"))
    later = T0 + timedelta(hours=1)
    new = _ticket_doc("SQ-R", status="classified", version=2, updated_at=later,
                      history=[{"at": later, "action": "classify"}])

    saved = await store.replace_by_id("tickets", new, condition={"version": 1})
    stale = await store.replace_by_id("tickets", {**new, "status": "stale"},
                                      condition={"version": 1})

    assert saved == new
    assert stale is None
    stored = await store.find_one("tickets", {"_id": "SQ-R"})
    assert stored == new
    assert stored is not None and stored["updated_at"].tzinfo is not None
    assert stored["history"][0]["at"] == later


async def _race(stores: list[Store], writers: int) -> list[int]:
    """`writers` conditional replaces of one document at version 1; returns the winners."""

    async def attempt(i: int) -> int | None:
        s = stores[i % len(stores)]
        doc = _ticket_doc("SQ-RACE", version=2, writer=i)
        return i if await s.replace_by_id("tickets", doc, condition={"version": 1}) else None

    results = await asyncio.gather(*(attempt(i) for i in range(writers)))
    return [r for r in results if r is not None]


async def test_concurrent_replace_has_exactly_one_winner(store: Store) -> None:
    await store.insert("tickets", _ticket_doc("SQ-RACE"))

    winners = await _race([store], 20)

    assert len(winners) == 1
    stored = await store.find_one("tickets", {"_id": "SQ-RACE"})
    assert stored is not None and stored["writer"] == winners[0] and stored["version"] == 2


async def test_concurrent_replace_from_two_clients_has_exactly_one_winner(
    store: Store, other_store: Store,
) -> None:
    await store.insert("tickets", _ticket_doc("SQ-RACE"))

    winners = await _race([store, other_store], 20)

    assert len(winners) == 1
    stored = await other_store.find_one("tickets", {"_id": "SQ-RACE"})
    assert stored is not None and stored["writer"] == winners[0]


async def test_update_by_id_inc_with_condition(store: Store) -> None:
    await store.insert("sla_timers", {"_id": "t1", "state": "pending", "attempts": 0,
                                      "fire_at": T0})

    first = await store.update_by_id("sla_timers", "t1", {"$inc": {"attempts": 1}},
                                     condition={"state": "pending"})
    second = await store.update_by_id("sla_timers", "t1",
                                      {"$inc": {"attempts": 1}, "$set": {"state": "fired"}},
                                      condition={"state": "pending", "attempts": 1})
    refused = await store.update_by_id("sla_timers", "t1", {"$inc": {"attempts": 1}},
                                       condition={"state": "pending"})

    assert first is not None and first["attempts"] == 1
    assert second is not None and second["attempts"] == 2 and second["state"] == "fired"
    assert refused is None
    stored = await store.find_one("sla_timers", {"_id": "t1"})
    assert stored is not None and stored["attempts"] == 2
    assert stored["fire_at"] == T0 and stored["fire_at"].tzinfo is not None
    assert await store.update_by_id("sla_timers", "missing", {"$inc": {"attempts": 1}}) is None


async def test_update_by_id_refuses_datetime_in_set(store: Store) -> None:
    await store.insert("sla_timers", {"_id": "t1", "state": "pending", "fire_at": T0})

    with pytest.raises(ValueError, match="datetime"):
        await store.update_by_id("sla_timers", "t1", {"$set": {"fire_at": T0}})

    stored = await store.find_one("sla_timers", {"_id": "t1"})
    assert stored is not None and stored["fire_at"] == T0


async def test_next_sequence_is_unique_and_consecutive_across_clients(
    store: Store, other_store: Store,
) -> None:
    calls = [store.next_sequence("ticket_no:SQ:20261123") if i % 2 else
             other_store.next_sequence("ticket_no:SQ:20261123") for i in range(200)]

    values = await asyncio.gather(*calls)

    assert sorted(values) == list(range(1, 201))
    assert await store.next_sequence("ticket_no:SQ:20261124") == 1  # counters are independent


async def test_due_timers_query_on_indexed_dates_sorted(store: Store) -> None:
    now = T0
    timers = [
        {"_id": "due-3", "state": "pending", "fire_at": now},
        {"_id": "due-1", "state": "pending", "fire_at": now - timedelta(hours=2)},
        {"_id": "due-2", "state": "pending", "fire_at": now - timedelta(minutes=5)},
        {"_id": "future", "state": "pending", "fire_at": now + timedelta(seconds=1)},
        {"_id": "fired", "state": "fired", "fire_at": now - timedelta(hours=3)},
        {"_id": "cancelled", "state": "cancelled", "fire_at": now - timedelta(hours=1)},
        # the same instant in another zone is still due, and sorts by instant
        {"_id": "due-0", "state": "pending",
         "fire_at": (now - timedelta(hours=3)).astimezone(SHANGHAI)},
    ]
    random.Random(7).shuffle(timers)
    for t in timers:
        await store.insert("sla_timers", {**t, "ticket_no": "SQ-1"})

    cursor = store.collection("sla_timers").find(
        {"state": "pending", "fire_at": {"$lte": now}}).sort("fire_at", 1)
    due = [doc async for doc in cursor]

    assert [d["_id"] for d in due] == ["due-0", "due-1", "due-2", "due-3"]
    assert all(d["fire_at"].tzinfo is not None for d in due)
    limited = await store.collection("sla_timers").find(
        {"state": "pending", "fire_at": {"$lte": now}}).sort("fire_at", 1).limit(2).to_list()
    assert [d["_id"] for d in limited] == ["due-0", "due-1"]


async def test_in_query(store: Store) -> None:
    for i in range(6):
        await store.insert("tickets", _ticket_doc(f"SQ-{i}", status="received" if i % 2
                                                  else "dispatched"))

    by_id = await store.tickets.find({"_id": {"$in": ["SQ-1", "SQ-4", "SQ-nope"]}}).to_list()
    by_key = await store.tickets.find(
        {"intake_key": {"$in": ["web:SQ-0", "web:SQ-5"]}, "status": "received"}).to_list()

    assert sorted(d["_id"] for d in by_id) == ["SQ-1", "SQ-4"]
    assert [d["_id"] for d in by_key] == ["SQ-5"]


async def test_aggregation_counts_tickets_by_status(store: Store) -> None:
    statuses = ["received"] * 3 + ["classified"] * 2 + ["dispatched"] * 4
    for i, status in enumerate(statuses):
        await store.insert("tickets", _ticket_doc(f"SQ-{i}", status=status,
                                                  channel="web" if i < 8 else "hotline"))

    rows = await (await store.tickets.aggregate([
        {"$match": {"channel": "web"}},
        {"$group": {"_id": "$status", "n": {"$sum": 1}}},
        {"$sort": {"n": -1, "_id": 1}},
    ])).to_list()

    assert rows == [{"_id": "dispatched", "n": 3}, {"_id": "received", "n": 3},
                    {"_id": "classified", "n": 2}]


async def test_work_order_round_trip_and_version_conflict(store: Store, other_store: Store) -> None:
    received = make_order(TicketStatus.RECEIVED)
    await store.insert_ticket(received)
    assert await store.get_ticket(received.ticket_no) == received
    assert await store.find_ticket_by_intake_key(received.intake_key) == received

    classified = make_order(TicketStatus.CLASSIFIED)  # version 2, with nested classification
    saved = await store.save_ticket(classified, expected_version=1)
    assert saved == classified
    assert await other_store.get_ticket(received.ticket_no) == classified

    rival = classified.model_copy(update={"analysis_text": "a stale writer's change"})
    with pytest.raises(VersionConflict):
        await other_store.save_ticket(rival, expected_version=1)
    assert await store.get_ticket(received.ticket_no) == classified


async def test_work_order_updated_at_stays_aware_after_save(store: Store) -> None:
    order = make_order(TicketStatus.RECEIVED)
    await store.insert_ticket(order)
    later = datetime.now(UTC).replace(microsecond=0)
    changed = order.model_copy(update={"version": 2, "updated_at": later})

    saved = await store.save_ticket(changed, expected_version=1)

    assert saved.updated_at == later and saved.updated_at.tzinfo is not None


async def test_outbox_entries_are_marked_sent_by_unset_and_guard_stale_writers(
        store: Store) -> None:
    """The outbox (shared/outbox.py): entries survive a replace with their order, `$unset` of
    a nested key plus `$inc` removes them, and a writer that read them before is refused."""
    from suqiu.shared.contracts import PendingEvent
    from suqiu.shared.outbox import entry_key, with_outbox

    order = make_order(TicketStatus.RECEIVED)
    entries = [PendingEvent(event_id=f"{order.ticket_no}:x.y:{i}", routing_key="ticket.urged",
                            body='{"a": 1}') for i in range(3)]
    await store.insert_ticket(with_outbox(order, entries))
    read = await store.get_ticket(order.ticket_no)
    assert read is not None and [e.event_id for e in read.outbox.values()] == [
        e.event_id for e in entries]  # in the order written
    await store.mark_sent(order.ticket_no, [entry_key(entries[0].event_id)])
    after = await store.get_ticket(order.ticket_no)
    assert after is not None and after.outbox_rev == 1 and len(after.outbox) == 2
    stale = read.model_copy(update={"version": 2})
    with pytest.raises(VersionConflict):  # it would publish the sent entry again
        await store.save_ticket(stale, expected_version=1, outbox_rev=read.outbox_rev)
    fresh = after.model_copy(update={"version": 2})
    assert (await store.save_ticket(fresh, expected_version=1,
                                    outbox_rev=after.outbox_rev)).outbox == after.outbox
