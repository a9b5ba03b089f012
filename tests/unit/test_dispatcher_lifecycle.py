"""The work-order state machine: the full transition table, co-handling, revisit, audit."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

import pytest

from suqiu.services.dispatcher.domain import (
    HANDLING,
    TABLE,
    Command,
    Policy,
    Refused,
    dispatch_with_events,
    lifecycle_of,
    transition,
)
from suqiu.services.dispatcher.routing import RoutingRule, RoutingRules
from suqiu.shared.contracts import EVENT_ADAPTER, TicketStatus, WorkOrder
from suqiu.shared.contracts import LifecycleState as Lifecycle
from tests.factories import T0, make_classification, make_order, small_catalogue

pytestmark = pytest.mark.unit

S = TicketStatus
CAT = small_catalogue()
POLICY = Policy(CAT)
NOW = T0 + timedelta(hours=1)
_ids = count(1)


def cmd(action: str, role: str = "department", department: str | None = "construction",
        **kw: Any) -> Command:
    if role != "department":
        department = None
    return Command.model_validate({
        "command_id": f"c{next(_ids)}", "ticket_no": "SQ-20261123-000001", "action": action,
        "actor": department or role, "role": role, "department": department, **kw})


def order_at(status: TicketStatus, **lc: Any) -> WorkOrder:
    """An order in `status`, led by construction, signed by it once past dispatch."""
    base = make_order(S.DISPATCHED)
    life = Lifecycle(lead="construction", dispatch_round=1)
    if status not in {S.DISPATCHED, S.TRIAGE}:
        life.signed = {"construction": T0}
    if status is S.SUSPENDED:
        life.resume_to = S.IN_PROGRESS
    if status is S.EXTENSION_REQUESTED:
        life.extension_due = T0 + timedelta(days=30)
    data = {**life.model_dump(mode="python"), **lc}
    return base.model_copy(update={"status": status,
                                   "lifecycle": Lifecycle.model_validate(data)})


# One valid command per action (the right role and arguments).
VALID: dict[str, Command] = {
    "assign": cmd("assign", "operator", target="urban_mgmt"),
    "sign": cmd("sign"),
    "return": cmd("return", reason="不属于本单位职责"),
    "transfer": cmd("transfer", target="urban_mgmt", reason="违建归城管"),
    "reassign": cmd("reassign", "supervisor", target="urban_mgmt", reason="督办改派"),
    "start": cmd("start"),
    "suspend": cmd("suspend", reason="等待市民补充材料"),
    "resume": cmd("resume"),
    "request_extension": cmd("request_extension", reason="需要现场检测",
                             new_due=T0 + timedelta(days=40)),
    "approve_extension": cmd("approve_extension", "supervisor"),
    "reject_extension": cmd("reject_extension", "supervisor", reason="理由不足"),
    "escalate": cmd("escalate", "supervisor", reason="重大"),
    "reply": cmd("reply", summary="已责令施工单位夜间停工"),
    "feedback": cmd("feedback", "operator"),
    "revisit": cmd("revisit", "operator", satisfaction="满意"),
    "close": cmd("close", "supervisor", reason="市民撤诉"),
    "archive": cmd("archive", "operator"),
    "reopen": cmd("reopen", "supervisor", reason="复查发现未整改"),
    "urge": cmd("urge", "supervisor", reason="请尽快办理"),
    "note": cmd("note", "supervisor", reason="抽查：处理规范"),
    "recategorise": cmd("recategorise", "operator", category="劳动和社会保障",
                        subcategory="拖欠工资", target="labour", reason="实为欠薪"),
}

# Where an accepted command leaves the order (None: the state it was in).
TARGET: dict[str, TicketStatus | None] = {
    "assign": S.DISPATCHED, "sign": S.SIGNED, "return": S.TRIAGE, "transfer": S.DISPATCHED,
    "reassign": S.DISPATCHED, "start": S.IN_PROGRESS, "suspend": S.SUSPENDED,
    "resume": S.IN_PROGRESS, "request_extension": S.EXTENSION_REQUESTED,
    "approve_extension": S.IN_PROGRESS, "reject_extension": S.IN_PROGRESS, "escalate": None,
    "reply": S.REPLIED, "feedback": S.FEEDBACK_GIVEN, "revisit": S.CLOSED, "close": S.CLOSED,
    "archive": S.ARCHIVED, "reopen": S.DISPATCHED, "urge": None, "note": None,
    "recategorise": S.DISPATCHED,
}
# Accepted by the table but refused by the step, given the fixture.
STEP_REFUSALS = {("sign", s): "already_signed" for s in HANDLING - {S.DISPATCHED}}

LIFECYCLE_STATES = [S.TRIAGE, *sorted(HANDLING), S.REPLIED, S.FEEDBACK_GIVEN, S.CLOSED,
                    S.ARCHIVED, S.RECEIVED, S.INVALID, S.CLASSIFIED]


def test_the_table_covers_every_action() -> None:
    assert set(TABLE) == set(VALID) == set(TARGET)


@pytest.mark.parametrize("action", sorted(TABLE))
@pytest.mark.parametrize("status", LIFECYCLE_STATES)
def test_transition_table(action: str, status: TicketStatus) -> None:
    before = order_at(status)
    rule = TABLE[action]
    if status not in rule.sources:
        with pytest.raises(Refused) as exc:
            transition(before, VALID[action], NOW, POLICY)
        assert exc.value.code == "illegal_state"
        return
    if (action, status) in STEP_REFUSALS:
        with pytest.raises(Refused) as exc:
            transition(before, VALID[action], NOW, POLICY)
        assert exc.value.code == STEP_REFUSALS[(action, status)]
        return
    after, events = transition(before, VALID[action], NOW, POLICY)
    assert after.status is (TARGET[action] or status)
    assert after.version > before.version
    last = after.history[-1]
    assert last.at == NOW and last.actor == VALID[action].actor
    assert last.role == VALID[action].role
    assert last.to_status is after.status
    assert len({e.event_id for e in events}) == len(events)  # type: ignore[attr-defined]
    for e in events:  # every event is a valid contract on the events exchange
        assert EVENT_ADAPTER.validate_json(e.model_dump_json()) == e


@pytest.mark.parametrize("action", sorted(TABLE))
def test_roles_outside_the_table_are_refused(action: str) -> None:
    allowed = TABLE[action].roles
    wrong = next(r for r in ("department", "supervisor", "operator", "system") if r not in allowed)
    bad = VALID[action].model_copy(update={
        "role": wrong, "department": "construction" if wrong == "department" else None})
    status = next(iter(sorted(TABLE[action].sources)))
    with pytest.raises(Refused) as exc:
        transition(order_at(status), bad, NOW, POLICY)
    assert exc.value.code == "role_not_allowed"


def test_another_department_cannot_act_on_the_order() -> None:
    with pytest.raises(Refused) as exc:
        transition(order_at(S.DISPATCHED), cmd("sign", department="labour"), NOW, POLICY)
    assert exc.value.code == "not_your_order"


def test_only_the_lead_returns_or_transfers() -> None:
    order = order_at(S.DISPATCHED, co=["environment"])
    with pytest.raises(Refused) as exc:
        transition(order, cmd("return", department="environment", reason="x"), NOW, POLICY)
    assert exc.value.code == "not_lead"


def test_reason_is_required_where_the_table_says() -> None:
    with pytest.raises(Refused) as exc:
        transition(order_at(S.DISPATCHED), cmd("return"), NOW, POLICY)
    assert exc.value.code == "reason_required"


def test_expected_version_mismatch_is_a_conflict() -> None:
    order = order_at(S.DISPATCHED)
    with pytest.raises(Refused) as exc:
        transition(order, cmd("sign", expected_version=order.version - 1), NOW, POLICY)
    assert exc.value.code == "version_conflict"


def test_a_command_id_applies_once() -> None:
    c = cmd("urge", "supervisor", reason="快")
    once, _ = transition(order_at(S.SIGNED), c, NOW, POLICY)
    with pytest.raises(Refused) as exc:
        transition(once, c, NOW, POLICY)
    assert exc.value.code == "duplicate_command"


def test_return_re_dispatches_to_the_next_candidate_and_records_a_label() -> None:
    order = order_at(S.DISPATCHED, candidates=["urban_mgmt", "environment"])
    after, events = transition(order, cmd("return", reason="违建不归我们"), NOW, POLICY)
    assert after.status is S.DISPATCHED
    assert after.dispatch is not None and after.dispatch.department == "urban_mgmt"
    assert [e.type for e in events] == ["ticket.returned", "ticket.dispatched"]  # type: ignore[attr-defined]
    assert events[1].event_id == f"{order.ticket_no}:dispatched:{after.version}"  # type: ignore[attr-defined]
    lc = lifecycle_of(after)
    assert lc.returned_by == ["construction"]
    assert lc.labels[-1].wrong == "construction" and lc.labels[-1].right == "urban_mgmt"
    assert [h.action for h in after.history[-2:]] == ["return", "redispatch"]


def test_returned_by_every_candidate_waits_in_triage_until_assigned() -> None:
    order = order_at(S.DISPATCHED, candidates=["urban_mgmt"])
    first, _ = transition(order, cmd("return", reason="非我单位"), NOW, POLICY)
    second, events = transition(first, cmd("return", department="urban_mgmt", reason="也不是"),
                                NOW, POLICY)
    assert second.status is S.TRIAGE
    assert [e.type for e in events] == ["ticket.returned"]  # type: ignore[attr-defined]
    assigned, ev = transition(second, cmd("assign", "operator", target="environment"), NOW,
                              POLICY)
    assert assigned.status is S.DISPATCHED and lifecycle_of(assigned).lead == "environment"
    assert ev[0].type == "ticket.dispatched"  # type: ignore[attr-defined]


def test_co_handling_the_lead_reply_waits_for_assisting_replies_or_an_override() -> None:
    order = order_at(S.DISPATCHED, co=["environment"])
    o, _ = transition(order, cmd("sign"), NOW, POLICY)
    o, ev = transition(o, cmd("sign", department="environment"), NOW, POLICY)
    assert o.status is S.SIGNED and ev[0].department == "environment"  # type: ignore[attr-defined]
    with pytest.raises(Refused) as exc:
        transition(o, cmd("reply", summary="已处理"), NOW, POLICY)
    assert exc.value.code == "assisting_replies_pending"
    overridden, _ = transition(o, cmd("reply", summary="已处理", override=True,
                                      reason="环保局已电话确认"), NOW, POLICY)
    assert overridden.status is S.REPLIED
    o, ev = transition(o, cmd("reply", department="environment", summary="已监测"), NOW, POLICY)
    assert o.status is S.SIGNED and ev == []
    o, ev = transition(o, cmd("reply", summary="已责令停工"), NOW, POLICY)
    assert o.status is S.REPLIED
    assert [e.type for e in ev] == ["ticket.replied", "ticket.revisit_requested"]  # type: ignore[attr-defined]
    assert ev[1].answer_by == NOW + timedelta(days=7)  # type: ignore[attr-defined]


def test_extension_approval_moves_the_resolution_deadline() -> None:
    o, _ = transition(order_at(S.SIGNED), VALID["request_extension"], NOW, POLICY)
    o, ev = transition(o, cmd("approve_extension", "supervisor"), NOW, POLICY)
    assert o.sla is not None and o.sla.resolution_due == T0 + timedelta(days=40)
    assert ev[0].type == "ticket.extension_approved"  # type: ignore[attr-defined]


def test_extension_must_ask_for_a_later_deadline() -> None:
    with pytest.raises(Refused) as exc:
        transition(order_at(S.SIGNED), cmd("request_extension", reason="x", new_due=T0), NOW,
                   POLICY)
    assert exc.value.code == "new_due_required"


def test_two_dissatisfied_revisits_reopen_twice_and_escalate() -> None:
    o = order_at(S.REPLIED)
    o, ev = transition(o, cmd("revisit", "operator", satisfaction="不满意"), NOW, POLICY)
    assert o.status is S.DISPATCHED
    assert [e.type for e in ev] == ["ticket.reopened", "ticket.dispatched"]  # type: ignore[attr-defined]
    o = o.model_copy(update={"status": S.REPLIED})
    o, ev = transition(o, cmd("revisit", "operator", satisfaction="不满意"), NOW, POLICY)
    assert [e.type for e in ev] == ["ticket.reopened", "ticket.dispatched",  # type: ignore[attr-defined]
                                    "ticket.escalated"]
    lc = lifecycle_of(o)
    assert (lc.dissatisfied, lc.reopen_round, lc.escalation_level) == (2, 2, 1)


def test_escalation_follows_the_ladder_or_the_catalogue_parents() -> None:
    order = order_at(S.SIGNED, lead="urban_mgmt")
    o, ev = transition(order, cmd("escalate", "supervisor", reason="x"), NOW, POLICY)
    assert ev[0].escalated_to == "construction"  # type: ignore[attr-defined]
    ladder = Policy(CAT, ladder=("environment", "labour"))
    o, ev = transition(order, cmd("escalate", "supervisor", reason="x"), NOW, ladder)
    o, ev = transition(o, cmd("escalate", "supervisor", reason="y"), NOW, ladder)
    assert (ev[0].escalated_to, ev[0].level) == ("labour", 2)  # type: ignore[attr-defined]


def test_routing_rules_choose_lead_and_co_departments() -> None:
    rules = RoutingRules(rules=[
        RoutingRule(name="noise", category="城乡建设", keywords_any=["夜间施工"], lead="urban_mgmt",
                    co=["environment"]),
        RoutingRule(name="broad", category="城乡建设", lead="labour"),
        RoutingRule(name="top", priority=5, district="滨江区", lead="environment"),
    ])
    order = make_order(S.CLASSIFIED)
    after, events = dispatch_with_events(order, CAT, NOW, rules)
    assert lifecycle_of(after).lead == "urban_mgmt" and lifecycle_of(after).co == ["environment"]
    assert after.dispatch is not None and after.dispatch.co_departments == ["environment"]
    assert events[0].event_id == f"{order.ticket_no}:dispatched"  # type: ignore[attr-defined]
    low = make_order(S.CLASSIFIED, classification=make_classification(confidence=0.1))
    triaged, ev = dispatch_with_events(low, CAT, NOW, rules)
    assert triaged.status is S.TRIAGE and ev[0].type == "ticket.triage_required"  # type: ignore[attr-defined]


def test_audit_trail_of_a_whole_life() -> None:
    o, _ = dispatch_with_events(make_order(S.CLASSIFIED), CAT, NOW)
    for c in (cmd("sign"), cmd("start"), cmd("reply", summary="ok"),
              cmd("feedback", "operator"), cmd("revisit", "operator", satisfaction="非常满意"),
              cmd("archive", "operator")):
        o, _ = transition(o, c, NOW, POLICY)
    trail = [(h.action, h.from_status, h.to_status) for h in o.history[3:]]
    assert trail == [
        ("sign", S.DISPATCHED, S.SIGNED), ("start", S.SIGNED, S.IN_PROGRESS),
        ("reply", S.IN_PROGRESS, S.REPLIED), ("feedback", S.REPLIED, S.FEEDBACK_GIVEN),
        ("revisit", S.FEEDBACK_GIVEN, S.CLOSED), ("archive", S.CLOSED, S.ARCHIVED)]
    assert all(h.role and h.at == NOW for h in o.history[3:])
