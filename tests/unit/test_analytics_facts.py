"""The facts an order counts for, derived from the dispatcher's real audit trail."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from itertools import count
from typing import Any

import pytest

from suqiu.services.analytics.app import limits_of
from suqiu.services.analytics.domain.facts import order_facts
from suqiu.services.analytics.domain.keys import increments
from suqiu.services.dispatcher.domain import Command, Policy, dispatch_with_events, transition
from suqiu.shared.contracts import TicketStatus, WorkOrder
from tests.factories import T0, make_order, small_catalogue

pytestmark = pytest.mark.unit

CAT = small_catalogue()
LIMITS = limits_of(CAT, "Asia/Shanghai")
_ids = count(1)


def run(order: WorkOrder, at: Any, action: str, role: str = "department", **kw: Any) -> WorkOrder:
    dept = "construction" if role == "department" else None
    cmd = Command.model_validate({"command_id": f"c{next(_ids)}", "ticket_no": order.ticket_no,
                                  "action": action, "actor": dept or role, "role": role,
                                  "department": dept, **kw})
    out, _ = transition(order, cmd, at, Policy(CAT))
    return out


def counters(order: WorkOrder) -> Counter[str]:
    return Counter(f.counter for f in order_facts(order, LIMITS))


def dispatched(at: Any = T0) -> WorkOrder:
    out, _ = dispatch_with_events(make_order(TicketStatus.CLASSIFIED), CAT, at)
    return out


def test_a_full_life_counts_every_step_once() -> None:
    o = dispatched()
    o = run(o, T0 + timedelta(hours=1), "sign")
    o = run(o, T0 + timedelta(hours=2), "reply", summary="已处理")
    o = run(o, T0 + timedelta(days=1), "revisit", "operator", satisfaction="不满意")
    o = run(o, T0 + timedelta(days=1, hours=8), "sign")  # general: 4 h to sign -> late
    o = run(o, T0 + timedelta(days=2), "reply", summary="已再次处理")
    o = run(o, T0 + timedelta(days=3), "revisit", "operator", satisfaction="满意")
    c = counters(o)
    assert c == Counter({"received": 1, "valid": 1, "dispatched": 2, "signed": 2,
                         "signed_on_time": 1, "replied": 2, "replied_on_time": 2,
                         "reopened": 1, "sat_no": 1, "sat_yes": 1, "resolved": 1,
                         "resolved_on_time": 1})


def test_extension_and_suspension_move_the_resolution_deadline() -> None:
    o = run(dispatched(), T0 + timedelta(hours=1), "sign")
    o = run(o, T0 + timedelta(days=1), "suspend", reason="等待补充材料")
    o = run(o, T0 + timedelta(days=4), "resume")  # 3 days suspended: not counted
    o = run(o, T0 + timedelta(days=7), "reply", summary="已处理")  # 4 d counted: in time
    assert counters(o)["replied_on_time"] == 1
    o2 = run(dispatched(), T0 + timedelta(hours=1), "sign")
    o2 = run(o2, T0 + timedelta(days=2), "request_extension", reason="需要检测",
             new_due=T0 + timedelta(days=20))
    o2 = run(o2, T0 + timedelta(days=3), "approve_extension", "supervisor")
    o2 = run(o2, T0 + timedelta(days=15), "reply", summary="已处理")
    c = counters(o2)
    assert c["extended"] == 1 and c["replied_on_time"] == 1
    # the general rule's resolution limit is 7 working days (deploy/config/sla.yaml): 16
    # calendar days later is late whatever the holidays
    late = run(run(dispatched(), T0 + timedelta(hours=1), "sign"), T0 + timedelta(days=16),
               "reply", summary="已处理")
    assert counters(late)["replied"] == 1 and counters(late)["replied_on_time"] == 0


def test_returns_and_transfers_count_for_the_department_that_gave_it_away() -> None:
    o = run(dispatched(), T0 + timedelta(minutes=30), "transfer", target="urban_mgmt",
            reason="违建归城管")
    facts = order_facts(o, LIMITS)
    transferred = [f for f in facts if f.counter == "transferred"]
    assert [f.dims.department for f in transferred] == ["construction"]
    assert [f.dims.department for f in facts if f.counter == "dispatched"] == [
        "construction", "urban_mgmt"]


def test_facts_only_grow_as_the_order_moves_on() -> None:
    o = dispatched()
    before = order_facts(o, LIMITS)
    after = order_facts(run(o, T0 + timedelta(hours=1), "sign"), LIMITS)
    assert after[:len(before)] == before and len(after) > len(before)


def test_invalid_orders_count_received_and_invalid_with_blank_dimensions() -> None:
    o = make_order(TicketStatus.INVALID)
    o = o.model_copy(update={"history": [o.history[0].model_copy(
        update={"to_status": TicketStatus.INVALID})]})
    facts = order_facts(o, LIMITS)
    assert [f.counter for f in facts] == ["received", "invalid"]
    assert facts[0].dims.category == "-" and facts[0].dims.channel == "hotline"
    assert facts[0].day == "2026-11-23"


def test_increments_group_facts_per_document_in_three_rollups() -> None:
    incs = increments(order_facts(dispatched(), LIMITS))
    kinds = Counter(k.split("|")[0] for k in incs)
    assert kinds == Counter({"d": 1, "m": 1, "h": 1})
    hot = next(v for k, v in incs.items() if k.startswith("h|"))
    assert hot.counters == {"valid": 1} and hot.samples == ["SQ-20261123-000001"]
    day = next(v for k, v in incs.items() if k.startswith("d|"))
    assert day.partition == "d|2026-11-23"
    assert day.counters == {"received": 1, "valid": 1, "dispatched": 1}
