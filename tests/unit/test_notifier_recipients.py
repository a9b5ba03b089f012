"""Events that must reach people: escalations by level, extension requests to the approver for
the order's severity, triage-required orders to the triage desk; never a recipient that does
not exist."""

from __future__ import annotations

from datetime import timedelta

import pytest

from suqiu.services.notifier.config import NotifierConfig, NotifierConfigError
from suqiu.services.notifier.domain import Planner
from suqiu.services.notifier.templates import TemplateBook
from suqiu.shared.contracts import (
    Severity,
    SlaEscalated,
    TicketEscalated,
    TicketExtensionRequested,
    TicketStatus,
    TicketTriageRequired,
)
from tests.factories import T0, make_classification, make_order, small_catalogue

pytestmark = pytest.mark.unit

CAT = small_catalogue()
CONFIG = NotifierConfig.model_validate({
    "escalation_levels": [{"name": "区级督办", "departments": ["environment"]},
                          {"name": "市级督办", "departments": ["labour"]}],
    "extension_approvers": {"default": ["construction"], "urgent": ["labour"]},
    "departments": {"labour": {"supervisor_wechat_openid": "oLABOUR-SUPERVISOR"}},
})
PLANNER = Planner(CAT, CONFIG, TemplateBook(), "杭州12345")
BARE = Planner(CAT, NotifierConfig(), TemplateBook(), "杭州12345")


def _life(cls, order, **fields):  # type: ignore[no-untyped-def]
    return cls(event_id=f"{order.ticket_no}:{cls.__name__}:3", ticket_no=order.ticket_no,
               occurred_at=T0 + timedelta(days=1), intake_at=T0, version=3,
               actor="supervisor", from_status="in_progress", to_status="in_progress", **fields)


def _inbox(notes):  # type: ignore[no-untyped-def]
    return {(n.recipient, n.extra.get("role", None) or n.audience) for n in notes
            if n.channel == "inbox"}


@pytest.mark.parametrize(("level", "expected"), [
    (1, {"urban_mgmt", "environment"}),
    (2, {"urban_mgmt", "labour"}),
    (5, {"urban_mgmt", "labour"}),  # beyond the list: the last level
])
def test_ticket_escalated_reaches_the_levels_recipients(level: int, expected: set[str]) -> None:
    order = make_order(TicketStatus.DISPATCHED)
    event = _life(TicketEscalated, order, department="urban_mgmt", escalated_to="leadership",
                  level=level, reason="2 dissatisfied revisits")
    notes = PLANNER.plan(event, order)
    assert {r for r, _ in _inbox(notes)} == expected  # "leadership" is no department: ignored
    text = next(n.text for n in notes if n.channel == "inbox" and n.recipient != "urban_mgmt")
    assert f"第{level}级" in text and "2 dissatisfied revisits" in text
    assert any(n.channel == "wechat" for n in notes) == (level >= 2)


def test_sla_escalation_to_a_real_department_tells_it_and_the_level() -> None:
    order = make_order(TicketStatus.DISPATCHED)
    event = SlaEscalated(event_id="e", ticket_no=order.ticket_no, occurred_at=T0, intake_at=T0,
                         step="resolution", department="urban_mgmt", escalated_to="construction",
                         level=1, due_at=T0)
    assert {r for r, _ in _inbox(PLANNER.plan(event, order))} == {
        "urban_mgmt", "environment", "construction"}


def test_unconfigured_escalation_to_an_unknown_target_goes_to_the_top_department() -> None:
    order = make_order(TicketStatus.DISPATCHED)
    event = _life(TicketEscalated, order, department="urban_mgmt", escalated_to="leadership",
                  level=2)
    inbox = {r for r, _ in _inbox(BARE.plan(event, order))}
    assert inbox == {"urban_mgmt", CAT.departments[0].id}
    assert "leadership" not in inbox


@pytest.mark.parametrize(("severity", "approver"), [
    (Severity.GENERAL, "construction"), (Severity.URGENT, "labour")])
def test_extension_request_goes_to_the_approver_for_the_severity(severity: Severity,
                                                                  approver: str) -> None:
    order = make_order(TicketStatus.EXTENSION_REQUESTED,
                       classification=make_classification(severity=severity))
    event = _life(TicketExtensionRequested, order, department="urban_mgmt",
                  requested_resolution_due=T0 + timedelta(days=20), reason="需现场勘验")
    notes = PLANNER.plan(event, order)
    assert {r for r, _ in _inbox(notes)} == {approver}
    assert "市城市管理局申请将工单" in notes[0].text and "需现场勘验" in notes[0].text


def test_extension_request_without_configuration_goes_to_the_leads_parent() -> None:
    order = make_order(TicketStatus.EXTENSION_REQUESTED)
    event = _life(TicketExtensionRequested, order, department="urban_mgmt",
                  requested_resolution_due=T0 + timedelta(days=20), reason="需现场勘验")
    assert {r for r, _ in _inbox(BARE.plan(event, order))} == {"construction"}


def test_triage_required_reaches_the_triage_desk() -> None:
    order = make_order(TicketStatus.TRIAGE)
    event = TicketTriageRequired(event_id="t", ticket_no=order.ticket_no, occurred_at=T0,
                                 intake_at=T0, category="城乡建设", department="construction",
                                 confidence=0.2, threshold=0.35)
    notes = PLANNER.plan(event, order)
    assert [(n.channel, n.recipient) for n in notes] == [("inbox", CAT.triage_department)]
    assert "人工确认" in notes[0].text


def test_recipients_must_exist_in_the_catalogue() -> None:
    bad = NotifierConfig.model_validate({
        "escalation_levels": [{"name": "领导", "departments": ["leadership"]}],
        "extension_approvers": {"major": ["nobody"]}})
    with pytest.raises(NotifierConfigError) as info:
        bad.check(CAT, {})
    assert "leadership" in str(info.value) and "nobody" in str(info.value)
    with pytest.raises(ValueError, match="unknown severity"):
        NotifierConfig.model_validate({"extension_approvers": {"huge": ["labour"]}})
