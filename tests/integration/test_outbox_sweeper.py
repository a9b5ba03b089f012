"""The dispatcher's outbox sweeper on a real Mongo-protocol server: orders whose outbox held
entries longer than the age are found by the indexed `outbox_since` key, oldest first, a
bounded batch at a time; published entries leave the outbox and the key; entries handed on to
the next stage's write (ticket.received / ticket.classified) are not the sweeper's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from suqiu.shared.contracts import TicketReceived, TicketSigned, TicketStatus, WorkOrder
from suqiu.shared.outbox import with_outbox
from tests.factories import T0, make_order
from tests.integration.test_dispatcher_api import Api
from tests.integration.test_dispatcher_api import api as api  # the fixture

pytestmark = pytest.mark.integration

NOW = T0 + timedelta(hours=1)  # the fixture's clock


def _pending(n: int, at_minutes: int, *, handed_on: bool = False) -> WorkOrder:
    at = T0 + timedelta(minutes=at_minutes)
    order = make_order(TicketStatus.SIGNED if not handed_on else TicketStatus.RECEIVED,
                       ticket_no=f"SQ-W-{n}", channel_message_id=f"w-{n}",
                       intake_key=f"hotline:w-{n}").model_copy(update={"updated_at": at})
    event = (TicketReceived(event_id=f"SQ-W-{n}:received", ticket_no=order.ticket_no,
                            occurred_at=at, intake_at=at, channel="hotline")
             if handed_on else
             TicketSigned(event_id=f"SQ-W-{n}:signed:5", ticket_no=order.ticket_no,
                          occurred_at=at, intake_at=at, version=5, actor="construction",
                          from_status="dispatched", to_status="signed",
                          department="construction"))
    return with_outbox(order, [event])


async def test_the_sweeper_publishes_what_was_left_pending(api: Api) -> None:
    for order in (_pending(1, 10), _pending(2, 5), _pending(3, 59, handed_on=True),
                  _pending(4, 59, handed_on=True), _pending(5, 59)):
        await api.store.insert_ticket(order)
    assert (await api.store.find_one("tickets", {"_id": "SQ-W-3"}) or {}).get(
        "outbox_since") is None  # handed on: the classifier's write removes it

    assert await api.life.sweep_outboxes(age_s=120, limit=1) == 1  # bounded, oldest first
    assert [e.event_id for e in api.published.events] == [  # type: ignore[attr-defined]
        "SQ-W-2:signed:5"]
    assert await api.life.sweep_outboxes(age_s=120, limit=10) == 1
    assert await api.life.sweep_outboxes(age_s=120, limit=10) == 0  # SQ-W-5 is too young
    assert [e.event_id for e in api.published.events] == [  # type: ignore[attr-defined]
        "SQ-W-2:signed:5", "SQ-W-1:signed:5"]
    for no in ("SQ-W-1", "SQ-W-2"):
        doc = await api.store.find_one("tickets", {"_id": no})
        assert doc is not None and doc["outbox"] == {} and "outbox_since" not in doc
    assert (await api.store.get_ticket("SQ-W-5")).outbox  # type: ignore[union-attr]
