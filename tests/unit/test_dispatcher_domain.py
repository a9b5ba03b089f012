"""Dispatch rules: routing, deadlines, the classified -> dispatched transition."""

from __future__ import annotations

from datetime import timedelta

import pytest

from suqiu.services.dispatcher.domain import dispatch, dispatched_event, route
from suqiu.shared.contracts import Severity, TicketStatus
from suqiu.shared.sla import default_book, warning_time
from tests.factories import T0, make_classification, make_order, small_catalogue

pytestmark = pytest.mark.unit

CAT = small_catalogue()
NOW = T0 + timedelta(minutes=10)


def _classified(**classification: object):
    return make_order(TicketStatus.CLASSIFIED,
                      classification=make_classification(**classification))


def test_dispatch_assigns_the_classified_department() -> None:
    after = dispatch(_classified(department="urban_mgmt"), CAT, NOW)
    assert after.status is TicketStatus.DISPATCHED
    assert after.dispatch is not None
    assert (after.dispatch.department, after.dispatch.department_name) == (
        "urban_mgmt", "市城市管理局")
    assert after.dispatch.dispatched_at == NOW


@pytest.mark.parametrize(("severity", "rule"), [
    (Severity.URGENT, "urgent"), (Severity.MAJOR, "major"),
    (Severity.IMPORTANT, "important"), (Severity.GENERAL, "general"),
])
def test_deadlines_come_from_the_one_policy_file(severity: Severity, rule: str) -> None:
    after = dispatch(_classified(severity=severity), CAT, NOW)
    assert after.sla is not None
    book = default_book(CAT)
    assert after.sla == book.compute(after)
    assert (after.sla.rule, after.sla.policy_version) == (rule, book.policies.version)
    assert after.sla.sign_for_due is not None and after.sla.sign_for_due > NOW
    assert set(after.sla.steps) == {"sign_for", "first_response", "resolution"}


def test_history_entry_appended_and_version_incremented() -> None:
    before = _classified()
    after = dispatch(before, CAT, NOW)
    assert after.version == before.version + 1
    assert after.updated_at == NOW
    assert after.history[:-1] == before.history
    last = after.history[-1]
    assert (last.actor, last.action, last.from_status, last.to_status, last.note) == (
        "dispatcher", "dispatch", TicketStatus.CLASSIFIED, TicketStatus.DISPATCHED,
        "-> construction")
    assert before.status is TicketStatus.CLASSIFIED  # the input is not mutated


def test_unknown_department_waits_in_the_triage_queue() -> None:
    order = _classified(department="no_such_bureau")
    assert route(order, CAT) == "triage"
    after = dispatch(order, CAT, NOW)
    assert after.status is TicketStatus.TRIAGE
    assert after.dispatch is None
    assert after.history[-1].action == "triage"


@pytest.mark.parametrize("status", [TicketStatus.RECEIVED, TicketStatus.DISPATCHED])
def test_dispatch_only_from_classified(status: TicketStatus) -> None:
    with pytest.raises(ValueError, match="cannot dispatch"):
        dispatch(make_order(status), CAT, NOW)


def test_route_refuses_unclassified_order() -> None:
    with pytest.raises(ValueError, match="unclassified"):
        route(make_order(), CAT)


def test_dispatched_event_carries_department_severity_and_deadlines() -> None:
    after = dispatch(_classified(severity=Severity.MAJOR), CAT, NOW)
    event = dispatched_event(after)
    assert event.event_id == "SQ-20261123-000001:dispatched"
    assert (event.department, event.severity) == ("construction", Severity.MAJOR)
    assert event.occurred_at == NOW
    assert event.sign_for_due == after.sla.sign_for_due == NOW + timedelta(hours=1)
    assert event.resolution_due == after.sla.resolution_due == NOW + timedelta(hours=48)
    assert event.intake_at == after.received_at


def test_warning_time() -> None:
    assert warning_time(T0, T0 + timedelta(hours=120), 0.9) == T0 + timedelta(hours=108)
