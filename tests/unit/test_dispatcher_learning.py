"""The dispatcher's side of the learning loop: `recategorise`, and which stored commands are a
person's decision (a training label) and which are not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from suqiu.services.dispatcher.domain import Policy, Refused, label_decision, transition
from suqiu.shared.contracts import Command, TicketStatus, WorkOrder
from suqiu.shared.contracts import LifecycleState as Lifecycle
from suqiu.shared.labels import apply_decision
from tests.factories import T0, make_order, small_catalogue

pytestmark = pytest.mark.unit

S = TicketStatus
POLICY = Policy(small_catalogue())
NOW = T0 + timedelta(hours=2)


def cmd(action: str, role: str, n: int = 1, **kw: Any) -> Command:
    dept = kw.pop("department", None) if role == "department" else None
    return Command.model_validate({"command_id": f"cmd-{n}", "ticket_no": "SQ-20261123-000001",
                                   "action": action, "actor": dept or f"{role}-7", "role": role,
                                   "department": dept, **kw})


def order(status: TicketStatus = S.DISPATCHED, **lc: Any) -> WorkOrder:
    life = Lifecycle.model_validate({"lead": "construction", "dispatch_round": 1, **lc})
    return make_order(S.DISPATCHED).model_copy(update={"status": status, "lifecycle": life})


def test_recategorise_with_a_target_redispatches_and_announces() -> None:
    c = cmd("recategorise", "operator", category="labour", subcategory="wages",
            target="labour", reason="实为欠薪")
    after, events = transition(order(S.TRIAGE, lead=None), c, NOW, POLICY)
    assert after.classification is not None
    assert (after.classification.category, after.classification.subcategory) == (
        "劳动和社会保障", "拖欠工资")  # codes are accepted, names are stored
    assert after.status is S.DISPATCHED and after.dispatch is not None
    assert after.dispatch.department == "labour"
    line = after.history[-1]
    assert (line.action, line.actor, line.role, line.reason) == (
        "recategorise", "operator-7", "operator", "实为欠薪")
    assert [e.type for e in events] == ["ticket.recategorised", "ticket.dispatched"]  # type: ignore[attr-defined]
    assert events[0].previous_category == "城乡建设"  # type: ignore[attr-defined]


def test_recategorise_without_a_target_keeps_the_handling_state() -> None:
    c = cmd("recategorise", "supervisor", category="环境保护", reason="噪声")
    after, events = transition(order(S.SIGNED, signed={"construction": T0}), c, NOW, POLICY)
    assert after.status is S.SIGNED and after.classification is not None
    assert after.classification.category == "环境保护"
    assert after.classification.subcategory is None
    assert after.dispatch == order().dispatch
    assert [e.type for e in events] == ["ticket.recategorised"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("status", "kw", "code"), [
    (S.SIGNED, {"category": "没有这类"}, "unknown_category"),
    (S.SIGNED, {"category": "环境保护", "subcategory": "拖欠工资"}, "unknown_category"),
    (S.SIGNED, {}, "category_required"),
    (S.TRIAGE, {"category": "环境保护"}, "target_required"),
    (S.SIGNED, {"category": "环境保护", "target": "nowhere"}, "unknown_department"),
    (S.CLOSED, {"category": "环境保护"}, "illegal_state"),
])
def test_recategorise_refusals(status: TicketStatus, kw: dict[str, Any], code: str) -> None:
    with pytest.raises(Refused) as exc:
        transition(order(status), cmd("recategorise", "operator", reason="r", **kw), NOW, POLICY)
    assert exc.value.code == code


def test_only_the_centre_and_supervisors_recategorise() -> None:
    with pytest.raises(Refused) as exc:
        transition(order(), cmd("recategorise", "department", department="construction",
                                category="环境保护", reason="r"), NOW, POLICY)
    assert exc.value.code == "role_not_allowed"
    with pytest.raises(Refused) as exc:
        transition(order(), cmd("recategorise", "operator", category="环境保护"), NOW, POLICY)
    assert exc.value.code == "reason_required"


def test_a_recategorisation_is_a_label_with_who_decided() -> None:
    c = cmd("recategorise", "supervisor", 5, category="labour", target="labour", reason="r")
    after, _ = transition(order(), c, NOW, POLICY)
    d = label_decision(after, c, NOW)
    assert d is not None
    assert (d.decision_id, d.kind, d.actor, d.role) == ("cmd-5", "recategorise",
                                                        "supervisor-7", "supervisor")
    assert (d.category, d.subcategory, d.department, d.at) == ("劳动和社会保障", None, "labour",
                                                               NOW)


def test_the_leads_sign_after_a_transfer_is_an_accepted_label() -> None:
    moved, _ = transition(order(), cmd("transfer", "department", 1, department="construction",
                                       target="labour", reason="欠薪"), NOW, POLICY)
    assert label_decision(moved, cmd("transfer", "department", 1, department="construction",
                                     target="labour", reason="欠薪"), NOW) is None
    sign = cmd("sign", "department", 2, department="labour")
    signed, _ = transition(moved, sign, NOW + timedelta(minutes=3), POLICY)
    d = label_decision(signed, sign, NOW + timedelta(hours=1))
    assert d is not None and (d.kind, d.department, d.actor, d.role) == (
        "accepted", "labour", "labour", "department")
    assert d.at == NOW + timedelta(minutes=3)  # when it signed, also on a later redelivery
    label = apply_decision(None, signed, d)
    assert label is not None and label.corrected  # the classifier said construction
    assert apply_decision(label, signed, d) is None  # the same command again: nothing


def test_an_assisting_sign_and_other_commands_are_no_labels() -> None:
    o = order(co=["environment"])
    co_sign = cmd("sign", "department", 3, department="environment")
    after, _ = transition(o, co_sign, NOW, POLICY)
    assert label_decision(after, co_sign, NOW) is None
    urge = cmd("urge", "supervisor", 4, reason="快")
    after, _ = transition(o, urge, NOW, POLICY)
    assert label_decision(after, urge, NOW) is None
