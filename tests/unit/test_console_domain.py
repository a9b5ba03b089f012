"""The console's pure parts: read-model keys, countdowns, masking, roles, command forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from suqiu.services.console.domain.messages import refusal_text
from suqiu.services.console.domain.readmodel import bigrams, entries_for, key_time, phone_key, prefix_range
from suqiu.services.console.domain.roles import User, allowed_actions, can_see_order, dispatcher_credential
from suqiu.services.console.domain.views import countdown, deadlines, person_view
from suqiu.services.console.service import command_body
from suqiu.shared.contracts import TicketStatus
from tests.factories import T0, make_order

pytestmark = pytest.mark.unit


def test_keys_sort_by_time_and_cover_each_screen() -> None:
    order = make_order(TicketStatus.DISPATCHED, lifecycle={"lead": "construction_bureau",
                                                           "co": ["ecology_environment_bureau"]})
    keys = entries_for(order, "salt")
    due = key_time(order.sla.resolution_due if order.sla else None)
    assert f"inbox|construction_bureau|{due}|{order.ticket_no}" in keys
    assert f"inbox|ecology_environment_bureau|{due}|{order.ticket_no}" in keys  # 协办 sees it too
    assert f"due|{due}|{order.ticket_no}" in keys
    assert any(k.startswith("warn|") for k in keys)
    assert not any(k.startswith(("triage|", "revisit|")) for k in keys)
    assert any(k.startswith("tok|施工|") for k in keys) and any(k.startswith("addr|西湖|") for k in keys)
    pk = phone_key("13800138000", "salt")
    assert f"phone|{pk}|{key_time(order.received_at)}|{order.ticket_no}" in keys
    assert not any("13800138000" in k for k in keys)  # no phone number in the index
    assert key_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) < key_time(
        datetime(2026, 1, 2, 11, 4, 6, tzinfo=ZoneInfo("Asia/Shanghai")))


def test_closed_orders_leave_the_working_lists() -> None:
    keys = entries_for(make_order(TicketStatus.CLOSED, lifecycle={"lead": "x"}), "")
    assert not any(k.startswith(("inbox|", "due|", "warn|", "triage|", "revisit|")) for k in keys)
    assert any(k.startswith("status|closed|") for k in keys)
    replied = entries_for(make_order(TicketStatus.REPLIED, lifecycle={
        "lead": "x", "revisit_due": T0 + timedelta(days=7)}), "")
    assert any(k.startswith(f"revisit|{key_time(T0 + timedelta(days=7))}|") for k in replied)


def test_prefix_range_and_bigrams() -> None:
    r = prefix_range("inbox|a|")
    assert r["$gte"] <= "inbox|a|2026" < r["$lt"] and not ("inbox|b|" < r["$lt"] and "inbox|b|" >= r["$gte"])
    assert prefix_range("warn|", "2026-01-01")["$lt"] == "warn|2026-01-01"
    assert bigrams("井盖 破损A") == {"井盖", "破损", "损a"}
    assert phone_key("123", "s") is None and phone_key("138-0013-8000", "s") == phone_key("13800138000", "s")


def test_countdown_colours() -> None:
    due, warn = T0 + timedelta(hours=10), T0 + timedelta(hours=9)
    assert countdown(due, warn, T0)["state"] == "ok"
    assert countdown(due, warn, T0 + timedelta(hours=9, minutes=30)) == {"state": "warning",
                                                                         "text": "剩余 30分钟"}
    assert countdown(due, warn, T0 + timedelta(days=1, hours=12)) == {"state": "breach",
                                                                      "text": "已超时 1天2小时"}
    assert countdown(None, None, T0)["state"] == "none"


def test_deadlines_show_their_state() -> None:
    order = make_order(TicketStatus.DISPATCHED, lifecycle={"lead": "x", "signed": {"x": T0}}).model_copy(
        update={"status": TicketStatus.SIGNED})
    rows = {r["label"]: r["state"] for r in deadlines(order, T0 + timedelta(days=30))}
    assert rows["签收时限"] == "met" and rows["办结时限"] == "overdue"


def test_masking_by_default() -> None:
    order = make_order(TicketStatus.DISPATCHED, content={"text": "我的电话13800138000，请回电"})
    masked, full = person_view(order, False), person_view(order, True)
    assert masked["phone"] != "13800138000" and "13800138000" not in masked["text"]
    assert masked["name"] != "张三" and masked["masked"]
    assert full["phone"] == "13800138000" and full["name"] == "张三" and not full["masked"]


def test_roles_scope_and_actions() -> None:
    handler = User("h", "H", "department", "construction_bureau")
    assert can_see_order(handler, {"construction_bureau"}) and not can_see_order(handler, {"other"})
    assert can_see_order(User("s", "S", "supervisor"), {"other"})
    assert allowed_actions(handler, "dispatched", "construction_bureau", []) == ("sign", "return", "transfer")
    assert allowed_actions(handler, "signed", "other", ["construction_bureau"]) == ("sign", "reply")
    assert allowed_actions(handler, "signed", "other", []) == ()
    supervisor = User("s", "S", "supervisor")
    assert "approve_extension" in allowed_actions(supervisor, "extension_requested", "x", [])
    assert dispatcher_credential(handler) == "construction_bureau"
    assert dispatcher_credential(User("t", "T", "triage")) == "operator"
    assert dispatcher_credential(User("c", "C", "call_taker")) is None
    assert not handler.may_unmask and User("r", "R", "revisit").may_unmask
    assert "他人更新" in refusal_text("version_conflict") and "x_y" in refusal_text("x_y")


def test_command_body_from_a_form() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    body = command_body("request_extension", {"reason": " 需协调 ", "new_due": "2026-12-01T17:30",
                                              "summary": "", "co": "a, b"}, tz)
    assert body == {"action": "request_extension", "reason": "需协调", "co": ["a", "b"],
                    "new_due": "2026-12-01T17:30:00+08:00"}
