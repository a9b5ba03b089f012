"""The outbox in the work order (shared/outbox.py): one write holds the change and its events;
a crash before the publish loses nothing; conflicts re-apply the step; a sent entry written
back by a concurrent writer is published again with the same id (consumers deduplicate)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from suqiu.shared.contracts import PendingEvent, TicketStatus, TicketUrged, WorkOrder
from suqiu.shared.outbox import FaultSwitch, OrderWriter, with_outbox
from suqiu.shared.store import VersionConflict
from tests.factories import T0, make_order
from tests.intake_doubles import MemoryStore

pytestmark = pytest.mark.unit


class Broker:
    """Records published entries; `fail` makes the next publishes raise (a dying process)."""

    def __init__(self) -> None:
        self.published: list[str] = []
        self.fail = 0

    async def publish_pending(self, entry: PendingEvent, ticket_no: str) -> bool:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("broker gone")
        self.published.append(entry.event_id)
        return True


def _urge(order: WorkOrder, n: int = 1) -> Any:
    changed = order.model_copy(update={"version": order.version + 1,
                                       "updated_at": T0 + timedelta(minutes=n)})
    return changed, [TicketUrged(event_id=f"{order.ticket_no}:urged:{changed.version}",
                                 ticket_no=order.ticket_no, occurred_at=T0, intake_at=T0,
                                 department="construction", urged_by="supervisor")]


def _once(order: WorkOrder) -> Any:
    """A step that is done once the order reached version 2 (e.g. a command id applied)."""
    return None if order.version >= 2 else _urge(order)


PENDING = [PendingEvent(event_id="pending-1", routing_key="ticket.urged", body="{}")]


@pytest.fixture
async def parts() -> tuple[MemoryStore, Broker, OrderWriter, WorkOrder]:
    store, broker = MemoryStore(), Broker()
    order = make_order(TicketStatus.DISPATCHED).model_copy(update={"version": 1})
    await store.insert_ticket(order)
    return store, broker, OrderWriter(store, broker, "test", fault=FaultSwitch()), order


async def test_change_and_events_are_one_write_then_published_and_marked_sent(parts) -> None:  # type: ignore[no-untyped-def]
    store, broker, writer, order = parts
    written = await writer.apply(order, _once)
    assert written.outcome == "ok" and written.event_ids == [f"{order.ticket_no}:urged:2"]
    assert broker.published == written.event_ids
    stored = await store.get_ticket(order.ticket_no)
    assert stored is not None and stored.version == 2 and stored.outbox == {}


async def test_a_crash_before_the_publish_is_repaired_by_the_redelivery(parts) -> None:  # type: ignore[no-untyped-def]
    store, broker, writer, order = parts
    broker.fail = 1
    with pytest.raises(ConnectionError):
        await writer.apply(order, _once)
    stored = await store.get_ticket(order.ticket_no)
    assert stored is not None and stored.version == 2 and len(stored.outbox) == 1
    assert broker.published == []
    # The message is redelivered: the change is stored, the step says so, the event goes out.
    again = await writer.apply(stored, _once)
    assert again.outcome == "duplicate" and broker.published == [f"{order.ticket_no}:urged:2"]
    stored = await store.get_ticket(order.ticket_no)
    assert stored is not None and stored.version == 2 and stored.outbox == {}


async def test_a_version_conflict_reads_again_and_reapplies(parts) -> None:  # type: ignore[no-untyped-def]
    store, broker, writer, order = parts
    await store.save_ticket(order.model_copy(update={"version": 2}), expected_version=1)
    written = await writer.apply(order, lambda o: _urge(o))  # `order` is stale (version 1)
    assert written.outcome == "ok" and written.order.version == 3
    assert broker.published == [f"{order.ticket_no}:urged:3"]


async def test_conflicts_beyond_the_limit_raise(parts) -> None:  # type: ignore[no-untyped-def]
    store, broker, writer, order = parts
    calls = []

    async def always_lose(order: WorkOrder, *, expected_version: int,
                          outbox_rev: int | None = None) -> WorkOrder:
        calls.append(expected_version)
        raise VersionConflict(order.ticket_no)

    store.save_ticket = always_lose  # type: ignore[method-assign]
    with pytest.raises(VersionConflict):
        await writer.apply(order, lambda o: _urge(o), retries=2)
    assert len(calls) == 3 and broker.published == []


async def test_a_writer_that_read_entries_since_marked_sent_reads_again(parts) -> None:  # type: ignore[no-untyped-def]
    store, broker, writer, order = parts
    await store.save_ticket(with_outbox(order, PENDING), expected_version=1)
    stale = await store.get_ticket(order.ticket_no)  # read before the entry was marked sent
    assert stale is not None and stale.outbox
    await writer.flush(stale)
    await writer.apply(stale, lambda o: _urge(o, 2))  # conflicts on outbox_rev, reads again
    assert broker.published == ["pending-1", f"{order.ticket_no}:urged:2"]  # nothing twice
    assert (await store.get_ticket(order.ticket_no)).outbox == {}  # type: ignore[union-attr]


async def test_a_sent_entry_written_back_in_the_race_is_published_again_same_id(parts) -> None:  # type: ignore[no-untyped-def]
    store, broker, writer, order = parts
    await store.save_ticket(with_outbox(order, PENDING), expected_version=1)
    first = await store.get_ticket(order.ticket_no)
    assert first is not None
    # A concurrent writer writes the pending entry back with its own change ...
    rival, events = _urge(first, 2)
    saved = await store.save_ticket(with_outbox(rival, events), expected_version=first.version,
                                    outbox_rev=first.outbox_rev)
    await writer.flush(first)  # ... just before the first writer publishes and marks it sent
    await writer.flush(saved)
    assert broker.published.count("pending-1") == 2  # same id: consumers deduplicate
    assert (await store.get_ticket(order.ticket_no)).outbox == {}  # type: ignore[union-attr]


def test_fault_switch_reads_stage_and_count() -> None:
    assert FaultSwitch.from_env({}) == FaultSwitch()
    assert FaultSwitch.from_env({"SUQIU_FAULT_CRASH_AFTER_SAVE": "dispatcher.command@2"}) == \
        FaultSwitch("dispatcher.command", 2)
    FaultSwitch("x", 0).check("y", 0)  # another stage: nothing happens


async def test_a_refused_step_still_publishes_what_is_pending(parts) -> None:  # type: ignore[no-untyped-def]
    store, broker, writer, order = parts
    await store.save_ticket(with_outbox(order, PENDING), expected_version=1)
    stuck = await store.get_ticket(order.ticket_no)  # e.g. an HTTP command's, cut by a crash

    def refuse(o: WorkOrder) -> Any:
        raise ValueError("illegal_state")

    with pytest.raises(ValueError):
        await writer.apply(stuck, refuse)
    assert broker.published == ["pending-1"]
    assert (await store.get_ticket(order.ticket_no)).outbox == {}  # type: ignore[union-attr]


async def test_a_handed_on_event_leaves_the_outbox_with_its_consumers_write() -> None:
    """ticket.received needs no mark-sent write: the classifier's write removes it."""
    from suqiu.shared.contracts import Channel, TicketReceived

    store, broker = MemoryStore(), Broker()
    writer = OrderWriter(store, broker, "test", fault=FaultSwitch())
    order = make_order(TicketStatus.RECEIVED).model_copy(update={"version": 1})
    received = TicketReceived(event_id=f"{order.ticket_no}:received", ticket_no=order.ticket_no,
                              occurred_at=T0, intake_at=T0, channel=Channel.HOTLINE)
    await writer.insert(order, [received])
    stored = await store.get_ticket(order.ticket_no)
    assert stored is not None and stored.outbox_rev == 0 and len(stored.outbox) == 1
    written = await writer.apply(stored, lambda o: _urge(o), consumed=received.event_id)
    assert broker.published == [received.event_id, f"{order.ticket_no}:urged:2"]
    final = await store.get_ticket(order.ticket_no)
    assert final is not None and final.outbox == {} and written.order.outbox == {}
