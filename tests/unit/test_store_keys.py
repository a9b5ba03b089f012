"""Precomputed key fields, query-shape normalisation and ticket-number blocks (no I/O)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest

from suqiu.shared.keys import at_key, key_range
from suqiu.shared.store_monitor import shape_of
from suqiu.shared.ticket_numbers import TicketNumbers

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_keys_sort_by_prefix_then_time_whatever_the_offset() -> None:
    shanghai = timezone(timedelta(hours=8))
    assert at_key("p", T0) == at_key("p", T0.astimezone(shanghai))
    assert at_key("p", T0) < at_key("p", T0 + timedelta(microseconds=1)) < at_key("q", T0)
    assert at_key("p", datetime(1, 1, 1, tzinfo=UTC)) < at_key("p", T0)  # fixed width years
    with pytest.raises(ValueError):
        at_key("p", datetime(2026, 1, 1))


def test_a_range_holds_its_prefix_only_within_the_times() -> None:
    r = key_range("a", T0, T0 + timedelta(hours=1))
    inside = at_key("a", T0 + timedelta(minutes=5))
    assert r["$gte"] <= inside <= r["$lte"]
    assert not r["$gte"] <= at_key("a", T0 - timedelta(seconds=1)) <= r["$lte"]
    # another prefix that starts with "a|" never falls inside an open range
    full = key_range("a")
    assert not full["$gte"] <= at_key("a|x", T0) <= full["$lte"]
    assert full["$gte"] <= at_key("a", T0) <= full["$lte"]


def test_shapes_keep_fields_and_operators_not_values() -> None:
    [find] = shape_of({"find": "tickets", "filter": {"person_at": {"$gte": "x", "$lte": "y"}},
                       "sort": {"person_at": -1}, "limit": 20}, "find")
    assert find == {"op": "find", "coll": "tickets", "filter": {"person_at": "range"},
                    "sort": [["person_at", -1]], "limit": True}
    [upd] = shape_of({"update": "n", "updates": [{"q": {"_id": "k", "state": "queued"},
                                                  "u": {}}]}, "update")
    assert upd["filter"] == {"_id": "eq", "state": "eq"}
    [agg] = shape_of({"aggregate": "t", "pipeline": [{"$match": {}}, {"$group": {}}]},
                     "aggregate")
    assert agg["op"] == "aggregate" and agg["filter"] == ["$match", "$group"]
    assert shape_of({"insert": "t", "documents": []}, "insert") == []


class _Counter:
    def __init__(self) -> None:
        self.value = 0
        self.calls = 0

    async def next_sequence(self, name: str, block: int = 1) -> int:
        self.calls += 1
        await asyncio.sleep(0)
        self.value += block
        return self.value


async def test_ticket_numbers_come_in_blocks_without_repeats() -> None:
    store = _Counter()
    a = TicketNumbers(store, "SQ", "Asia/Shanghai", block=20)  # type: ignore[arg-type]
    b = TicketNumbers(store, "SQ", "Asia/Shanghai", block=20)  # type: ignore[arg-type]
    numbers = await asyncio.gather(*(t.allocate(T0) for t in [a, b] * 25))
    assert len(set(numbers)) == 50
    assert store.calls == 4  # 25 numbers each: two blocks of 20 per replica
    nxt = await a.allocate(T0 + timedelta(days=1))  # a new day starts a new block at once
    assert nxt.startswith("SQ-20261201-") and store.calls == 5
