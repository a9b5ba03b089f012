"""`suqiu store-backfill` gives documents stored before the key fields their keys, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from suqiu.shared.keys import at_key, key_range
from suqiu.shared.store import Store
from suqiu.store_keys import backfill

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


async def test_backfill_sets_missing_keys_idempotently(mongo_url: str, namespace: str) -> None:
    store = Store(mongo_url, namespace)
    try:
        await store.ensure_indexes()
        old_tickets = [{"_id": f"SQ-20261101-{i:06d}", "intake_key": f"k{i}",
                        "person_key": "p1" if i % 2 else None,
                        "received_at": T0 + timedelta(minutes=i)} for i in range(1, 1203)]
        await store.insert_many("tickets", old_tickets)
        await store.insert_many("notifications", [
            {"_id": "n1", "state": "held", "due_at": T0, "attempts": 0},
            {"_id": "n2", "state": "sent", "due_at": None, "attempts": 1}])
        await store.insert("duplicate_signatures", {"_id": "SQ-1", "region_key": "r",
                                                    "cluster_id": "c", "at": T0})
        await store.insert("sla_timers", {"_id": "SQ-1:resolution", "state": "pending",
                                          "fire_at": T0, "due_at": T0 + timedelta(hours=1)})
        first = await backfill(mongo_url, namespace)
        assert first == {"tickets.received_key": 1202, "tickets.person_at": 601, "notifications.due_key": 1,
                         "duplicate_signatures.region_at": 1,
                         "duplicate_signatures.cluster_at": 1,
                         "rejected_messages.received_key": 0,
                         "sla_timers.fire_key": 1, "sla_timers.due_key": 1}
        assert set((await backfill(mongo_url, namespace)).values()) == {0}
        found = await store.find("tickets", {"person_at": key_range("p1", T0)},
                                 sort=[("person_at", -1)], limit=5)
        assert [d["_id"] for d in found][:1] == ["SQ-20261101-001201"]
        held = await store.find("notifications", {"due_key": key_range("held", until=T0)},
                                sort=[("due_key", 1)], limit=5)
        assert [d["_id"] for d in held] == ["n1"]
        due = await store.find("sla_timers", {"fire_key": key_range("at", until=T0)},
                               sort=[("fire_key", 1)], limit=5)
        assert [d["_id"] for d in due] == ["SQ-1:resolution"]
        sig = await store.find_one("duplicate_signatures", {"_id": "SQ-1"})
        assert sig and sig["region_at"] == at_key("r", T0) and sig["cluster_at"] == at_key("c", T0)
    finally:
        await store.db.client.drop_database(namespace)
        await store.close()
