"""The department inbox on a real Mongo-protocol server: one precomputed key per (department,
order), written with every write of the order; listings are a range on one indexed key,
soonest resolution deadline first, bounded; a department the order left no longer lists it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from suqiu.services.dispatcher.repository import INBOX
from suqiu.shared.contracts import LifecycleState as Life
from suqiu.shared.contracts import TicketStatus, WorkOrder
from suqiu.shared.store import Store
from tests.factories import T0, make_order
from tests.integration.test_dispatcher_api import Api, _auth
from tests.integration.test_dispatcher_api import api as api  # the fixture

pytestmark = pytest.mark.integration


def _order(n: int, hours: int, lead: str = "construction", co: list[str] | None = None,
           status: TicketStatus = TicketStatus.DISPATCHED) -> WorkOrder:
    order = make_order(TicketStatus.DISPATCHED, ticket_no=f"SQ-I-{n}", now=T0 + timedelta(hours=hours),
                       channel_message_id=f"i-{n}", intake_key=f"hotline:i-{n}")
    assert order.dispatch is not None
    return order.model_copy(update={
        "status": status,
        "lifecycle": Life(lead=lead, co=co or [], departments=[lead, *(co or [])],
                          dispatch_round=1),
        "dispatch": order.dispatch.model_copy(update={"department": lead,
                                                      "co_departments": co or []})})


async def _inbox(api: Api, token: str, **params: str) -> list[str]:
    r = await api.client.get("/dispatcher/v1/inbox", params=params, headers=_auth(token))
    assert r.status_code == 200, r.text
    return [o["ticket_no"] for o in r.json()["orders"]]


async def test_inbox_lists_by_deadline_from_its_keys(api: Api) -> None:
    repo = api.life.repo
    await repo.insert_ticket(_order(1, 30))
    await repo.insert_ticket(_order(2, 10, co=["environment"]))
    await repo.insert_ticket(_order(3, 20, lead="labour"))
    await repo.insert_ticket(_order(4, 5, status=TicketStatus.CLOSED))
    assert await _inbox(api, "tok-construction-0001") == ["SQ-I-2", "SQ-I-1"]
    assert await _inbox(api, "tok-environment-0001") == ["SQ-I-2"]
    assert await _inbox(api, "tok-construction-0001", status="closed") == ["SQ-I-4"]
    assert await _inbox(api, "tok-supervisor-0001") == ["SQ-I-2", "SQ-I-3", "SQ-I-1"]
    assert await _inbox(api, "tok-supervisor-0001", department="labour") == ["SQ-I-3"]
    assert await _inbox(api, "tok-supervisor-0001", status="dispatched") == [
        "SQ-I-2", "SQ-I-3", "SQ-I-1"]

    # A transfer: the new lead lists it, the old lead does not (its entry lost its keys).
    r = await api.client.post("/dispatcher/v1/tickets/SQ-I-1/commands",
                              json={"action": "transfer", "target": "labour", "reason": "欠薪"},
                              headers=_auth("tok-construction-0001"))
    assert r.status_code == 200, r.text
    assert await _inbox(api, "tok-construction-0001") == ["SQ-I-2"]
    left = await api.store.find_one(INBOX, {"_id": "construction|SQ-I-1"})
    assert left is not None and "open_due" not in left and "status_due" not in left
    assert len(await api.store.find(INBOX, {"ticket_no": "SQ-I-1"}, limit=10)) == 3  # *, 2 leads
    assert "SQ-I-1" in await _inbox(api, "tok-labour-00000001")
    r = await api.client.post("/dispatcher/v1/tickets/SQ-I-3/commands", json={"action": "sign"},
                              headers=_auth("tok-labour-00000001"))
    assert r.status_code == 200, r.text
    assert await _inbox(api, "tok-labour-00000001", status="signed") == ["SQ-I-3"]
    assert "SQ-I-3" not in await _inbox(api, "tok-labour-00000001", status="dispatched")


async def test_inbox_answer_is_bounded(api: Api) -> None:
    repo = api.life.repo
    for n in range(10, 16):
        await repo.insert_ticket(_order(n, n))
    api_limit = 3
    found = await repo.department_orders("construction", None, api_limit)
    assert [o.ticket_no for o in found] == ["SQ-I-10", "SQ-I-11", "SQ-I-12"]


async def test_an_older_write_never_overwrites_a_newer_entry(api: Api) -> None:
    store: Store = api.store
    entry: dict[str, Any] = {"_id": "x|SQ-I-9", "ticket_no": "SQ-I-9", "version": 5,
                             "open_due": "x|2026-11-30T00:00:00.000000"}
    await store.replace_newer(INBOX, [entry])
    await store.replace_newer(INBOX, [{**entry, "version": 4, "open_due": "x|old"},
                                      {**entry, "_id": "y|SQ-I-9", "version": 1}])
    docs = {d["_id"]: d for d in await store.find(INBOX, {"_id": {"$in": ["x|SQ-I-9",
                                                                          "y|SQ-I-9"]}},
                                                  limit=5)}
    assert docs["x|SQ-I-9"]["open_due"] == entry["open_due"] and len(docs) == 2
    await store.replace_newer(INBOX, [{"_id": "x|SQ-I-9", "ticket_no": "SQ-I-9", "version": 6}])
    after = await store.find_one(INBOX, {"_id": "x|SQ-I-9"})
    assert after is not None and "open_due" not in after and after["version"] == 6
