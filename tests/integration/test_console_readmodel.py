"""The console's read model and accounts against a real Mongo-protocol server: keys written
and removed as an order moves, lists as `_id` range queries, lock-out after failures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from suqiu.services.console.accounts import Accounts
from suqiu.services.console.metrics import ConsoleMetrics
from suqiu.services.console.projector import Projector
from suqiu.services.console.repository import ConsoleRepository
from suqiu.shared.contracts import TicketStatus
from suqiu.shared.store import Store
from tests.factories import make_order

pytestmark = pytest.mark.integration


@pytest.fixture
async def repo(mongo_url: str, namespace: str) -> AsyncIterator[ConsoleRepository]:
    store = Store(mongo_url, namespace)
    await store.ensure_indexes()
    try:
        yield ConsoleRepository(store)
    finally:
        await store.db.client.drop_database(namespace)
        await store.close()


async def test_lists_follow_the_order(repo: ConsoleRepository, mongo_url: str, namespace: str) -> None:
    store = Store(mongo_url, namespace)  # the pipeline's side: it writes the orders
    projector = Projector(repo, "salt", ConsoleMetrics(CollectorRegistry()))
    a = make_order(TicketStatus.DISPATCHED, ticket_no="SQ-20261123-000001", intake_key="hotline:a",
                   lifecycle={"lead": "construction_bureau"})
    b = make_order(TicketStatus.DISPATCHED, ticket_no="SQ-20261123-000002", intake_key="hotline:b",
                   lifecycle={"lead": "urban_management_bureau"})
    for order in (a, b):
        await store.insert_ticket(order)
        await projector.project(order.ticket_no)
        await projector.project(order.ticket_no)  # redelivery: nothing changes
    inbox = await repo.scan("inbox|construction_bureau|")
    assert [r["ticket_no"] for r in inbox] == [a.ticket_no]
    assert inbox[0]["status"] == "dispatched" and "13800138000" not in str(inbox[0])
    assert {r["ticket_no"] for r in await repo.scan("tok|施工|")} == {a.ticket_no, b.ticket_no}

    closed = a.model_copy(update={"status": TicketStatus.CLOSED, "version": a.version + 1})
    await store.save_ticket(closed, expected_version=a.version)
    await projector.project(a.ticket_no)
    assert await repo.scan("inbox|construction_bureau|") == []
    assert [r["ticket_no"] for r in await repo.scan("status|closed|")] == [a.ticket_no]
    keys = (await repo.keys_of(a.ticket_no) or {})["keys"]
    assert not any(k.startswith("inbox|") for k in keys)

    await projector.project_order(a)  # an older version arriving late is ignored
    assert await repo.scan("inbox|construction_bureau|") == []
    await store.close()


async def test_lock_out_after_repeated_failures(repo: ConsoleRepository) -> None:
    accounts = Accounts(repo, failures=3, lock_seconds=600)
    await accounts.create("li.qiang", "correct-horse", "李强", "triage")
    assert (await accounts.sign_in("li.qiang", "correct-horse")).user is not None
    assert (await accounts.sign_in("nobody", "x")).error == "用户名或密码错误"
    for _ in range(3):
        result = await accounts.sign_in("li.qiang", "wrong")
    assert result.user is None and "锁定" in (result.error or "")
    assert (await accounts.sign_in("li.qiang", "correct-horse")).user is None
    doc = await repo.user("li.qiang")
    assert doc is not None and doc["hash"].startswith("$argon2id$") and "correct" not in doc["hash"]
    await repo.clear_failures("li.qiang")
    assert (await accounts.sign_in("li.qiang", "correct-horse")).user is not None
    with pytest.raises(ValueError):
        await accounts.create("x y", "long-enough", "x", "triage")


async def test_supervisors_see_the_newest_hotspots_first(repo: ConsoleRepository, mongo_url: str,
                                                         namespace: str) -> None:
    """The hotspots the analytics service recorded (analytics_hotspots), newest window first,
    read by a walk of the window_end index, which the analytics service creates."""
    from suqiu.services.analytics.repository import AnalyticsRepository

    store = Store(mongo_url, namespace)
    try:
        analytics = AnalyticsRepository(store)
        await analytics.ensure_indexes()
        for end, observed in (("2026-11-08", 9), ("2026-11-22", 14), ("2026-11-15", 11)):
            assert await analytics.record_hotspot({
                "_id": f"hotspot:{end}:市容环境:西湖区:文新街道", "window_start": end,
                "window_end": end, "category": "市容环境", "district": "西湖区",
                "street": "文新街道", "observed": observed, "baseline": 2.0,
                "baseline_windows": [2, 2], "p_value": 0.001, "sample_tickets": ["SQ-1"]})
        found = await repo.hotspots(limit=2)
        assert [h["window_end"] for h in found] == ["2026-11-22", "2026-11-15"]
        plan = await store.collection("analytics_hotspots").find(
            {"window_end": {"$gte": "0"}}).sort("window_end", -1).limit(2).explain()
        assert "window_end" in str(plan.get("queryPlanner", plan))
    finally:
        await store.close()
