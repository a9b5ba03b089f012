"""The one deadline computation: an order's stored deadlines follow its history.

Orders are driven through the dispatcher's real state machine, so the history replayed is
the one the dispatcher writes.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

import pytest

from suqiu.services.dispatcher.domain import Command, Policy, dispatch_with_events, transition
from suqiu.shared.calendar import BusinessCalendar
from suqiu.shared.contracts import HistoryEntry, Severity, TicketStatus, WorkOrder
from suqiu.shared.sla import DeadlineBook, SlaPolicies, compute, default_book
from tests.factories import T0, make_classification, make_order, small_catalogue

pytestmark = pytest.mark.unit

S = TicketStatus
CAT = small_catalogue()
BOOK = default_book(CAT)
POLICY = Policy(CAT, deadlines=BOOK)
H = timedelta(hours=1)
_ids = count(1)


def _cmd(action: str, role: str = "department", **kw: Any) -> Command:
    dept = "construction" if role == "department" else None
    return Command.model_validate({"command_id": f"d{next(_ids)}", "ticket_no":
                                   "SQ-20261123-000001", "action": action,
                                   "actor": dept or role, "role": role, "department": dept,
                                   **kw})


def _run(order: WorkOrder, at: Any, action: str, role: str = "department",
         **kw: Any) -> WorkOrder:
    return transition(order, _cmd(action, role, **kw), at, POLICY)[0]


def _dispatched(severity: Severity = Severity.MAJOR) -> WorkOrder:
    order = make_order(S.CLASSIFIED, classification=make_classification(severity=severity))
    return dispatch_with_events(order, CAT, T0, policy=POLICY)[0]


def test_dispatch_stamps_every_running_clock_with_the_policy_version() -> None:
    o = _dispatched()
    assert o.sla is not None
    assert (o.sla.rule, o.sla.policy_version) == ("major", BOOK.policies.version)
    assert o.sla.sign_for_due == T0 + H                   # major: 1 h calendar
    assert o.sla.resolution_due == T0 + 48 * H
    assert o.sla.due("first_response") == o.received_at + 24 * H
    assert o.sla.steps["sign_for"].warn_at == T0 + 0.9 * H


def test_suspension_pauses_and_resume_moves_the_stored_deadline() -> None:
    o = _run(_dispatched(), T0 + 0.1 * H, "sign")
    o = _run(o, T0 + 2 * H, "suspend", reason="等待市民补充材料")
    assert o.sla is not None and o.sla.suspended and o.sla.resolution_due is None
    o = _run(o, T0 + 5 * H, "resume")
    assert o.sla is not None and not o.sla.suspended
    assert o.sla.resolution_due == T0 + 51 * H           # 48 h + 3 h paused


def test_an_approved_extension_replaces_the_resolution_deadline() -> None:
    new_due = T0 + 6 * 24 * H
    o = _run(_dispatched(), T0 + 0.1 * H, "sign")
    o = _run(o, T0 + H, "request_extension", new_due=new_due.isoformat(), reason="需要现场勘查")
    o = _run(o, T0 + 2 * H, "approve_extension", "supervisor")
    assert o.sla is not None and o.sla.resolution_due == new_due
    # a later suspension pushes the approved deadline back by its length
    o = _run(o, T0 + 3 * H, "suspend", reason="等待市民补充材料")
    o = _run(o, T0 + 4 * H, "resume")
    assert o.sla is not None and o.sla.resolution_due == new_due + H


def test_reassignment_restarts_sign_for_only() -> None:
    o = _dispatched()
    before = o.sla
    o = _run(o, T0 + 0.5 * H, "reassign", "supervisor", target="urban_mgmt", reason="职责调整")
    assert o.sla is not None and before is not None
    assert o.sla.sign_for_due == T0 + 1.5 * H
    assert o.sla.resolution_due == before.resolution_due


def test_reply_starts_feedback_and_revisit_and_stops_handling_clocks() -> None:
    o = _run(_dispatched(), T0 + 0.1 * H, "sign")
    o = _run(o, T0 + 3 * H, "reply", summary="已处理")
    assert o.sla is not None
    assert set(o.sla.steps) == {"feedback", "revisit"}
    assert o.sla.due("revisit") == T0 + 3 * H + 7 * 24 * H
    o = _run(o, T0 + 4 * H, "feedback", "operator")
    assert o.sla is not None and set(o.sla.steps) == {"revisit"}
    o = _run(o, T0 + 5 * H, "revisit", "operator", satisfaction="满意")
    assert o.status is S.CLOSED and o.sla is not None and o.sla.steps == {}


def test_telecom_feedback_is_due_two_hours_after_the_reply() -> None:
    telecom = DeadlineBook(BOOK.policies, BOOK.calendar, "telecom", BOOK.category_codes)
    o = _run(_dispatched(), T0 + 0.1 * H, "sign")
    o = telecom.stamp(_run(o, T0 + 3 * H, "reply", summary="已处理"))
    assert o.sla is not None and o.sla.due("feedback") == T0 + 5 * H


def test_triage_and_invalid_call_back_have_clocks() -> None:
    o = make_order(S.CLASSIFIED, classification=make_classification(confidence=0.1))
    routed = BOOK.stamp(o.model_copy(update={"status": S.TRIAGE, "history": [
        *o.history, HistoryEntry(at=T0, actor="dispatcher", action="triage",
                                 from_status=S.CLASSIFIED, to_status=S.TRIAGE)]}))
    assert routed.sla is not None and "triage" in routed.sla.steps
    assert routed.sla.due("triage") == T0 + 5.5 * H      # 10:00 + 4 working h, lunch 1.5 h
    invalid = make_order(S.INVALID, history=[HistoryEntry(
        at=T0, actor="intake", action="receive", to_status=S.INVALID)])
    stamped = BOOK.stamp(invalid)
    assert stamped.sla is not None and set(stamped.sla.steps) == {"callback"}
    assert stamped.sla.due("callback") == T0 + 24 * H


def test_category_rules_match_the_category_code_not_the_name() -> None:
    policies = SlaPolicies.model_validate({"profiles": {"p": [
        {"name": "construction", "match": {"category": ["urban_construction"]},
         "steps": {"sign_for": {"hours": 2}, "resolution": {"hours": 10}}},
        {"name": "rest", "steps": {"sign_for": {"hours": 4}, "resolution": {"hours": 99}}}]}})
    order = _dispatched()
    assert order.classification is not None and order.classification.category == "城乡建设"
    sla = compute(order, policies, BusinessCalendar(), profile="p",
                  category_codes=BOOK.category_codes)
    assert sla.rule == "construction" and sla.resolution_due == T0 + 10 * H
    # the subcategory code matches too
    policies2 = SlaPolicies.model_validate({"profiles": {"p": [
        {"name": "noise", "match": {"category": ["construction_noise"]},
         "steps": {"sign_for": {"hours": 2}, "resolution": {"hours": 10}}},
        {"name": "rest", "steps": {"sign_for": {"hours": 4}, "resolution": {"hours": 99}}}]}})
    assert compute(order, policies2, BusinessCalendar(), profile="p",
                   category_codes=BOOK.category_codes).rule == "noise"


def test_an_upgrade_in_the_history_changes_the_rule() -> None:
    o = _dispatched(Severity.GENERAL)
    up = BOOK.stamp(o.model_copy(update={"history": [*o.history, HistoryEntry(
        at=T0 + H, actor="sla_monitor", action="upgrade", from_status=S.DISPATCHED,
        to_status=S.DISPATCHED, note="major")]}))
    assert o.sla is not None and up.sla is not None
    assert (o.sla.rule, up.sla.rule, up.sla.severity) == ("general", "major", "major")


def test_intake_stamps_first_response_and_call_back_and_promises_the_stored_deadline() -> None:
    from suqiu.services.intake.handlers import IntakeHandler
    from suqiu.services.intake.settings import IntakeSettings

    handler = IntakeHandler(None, None, None, IntakeSettings(), deadlines=BOOK)  # type: ignore[arg-type]
    received = make_order(S.RECEIVED, promised_by=T0 + 99 * H)
    stamped = handler._stamp(received, None, promise=True)
    assert stamped.sla is not None and stamped.promised_by == stamped.sla.due("first_response")
    imposed = T0 + 2 * H  # a regulator's earlier deadline wins
    assert handler._stamp(received, imposed, promise=True).promised_by == imposed
    invalid = make_order(S.INVALID, history=[HistoryEntry(
        at=T0, actor="intake", action="receive", to_status=S.INVALID)])
    assert handler._stamp(invalid).sla.due("callback") == T0 + 24 * H  # type: ignore[union-attr]
