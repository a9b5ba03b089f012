"""`suqiu store-backfill` gives orders the dispatcher handled before the inbox keys their
inbox entries, once (services/dispatcher/domain/inbox.py)."""

from __future__ import annotations

import pytest

from suqiu.inbox_backfill import backfill_inbox
from suqiu.shared.contracts import TicketStatus
from suqiu.shared.keys import key_range
from suqiu.shared.store import Store
from tests.factories import make_order

pytestmark = pytest.mark.integration


async def test_backfill_gives_handled_orders_their_inbox_entries(mongo_url: str,
                                                                 namespace: str) -> None:
    store = Store(mongo_url, namespace)
    try:
        await store.ensure_indexes()
        await store.insert_ticket(make_order(TicketStatus.DISPATCHED))  # led by construction
        await store.insert_ticket(make_order(  # not yet the dispatcher's
            TicketStatus.RECEIVED, ticket_no="SQ-20261123-000002", channel_message_id="c2",
            intake_key="hotline:c2"))
        await store.insert("tickets", {"_id": "SQ-OLD-1", "dispatch": {"x": 1}})  # unreadable
        assert await backfill_inbox(mongo_url, namespace) == 1
        assert await backfill_inbox(mongo_url, namespace) == 0
        inbox = await store.find("dispatch_inbox", {"open_due": key_range("construction")},
                                 sort=[("open_due", 1)], limit=5)
        assert [d["ticket_no"] for d in inbox] == ["SQ-20261123-000001"]
    finally:
        await store.db.client.drop_database(namespace)
        await store.close()
