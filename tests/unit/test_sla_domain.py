"""SLA timers and the events they fire."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.sla_monitor.domain import Timer, fired_event, timers_for
from shared.contracts import Severity, SlaBreached, SlaWarning, TicketDispatched
from tests.factories import T0

pytestmark = pytest.mark.unit

START = T0 + timedelta(minutes=2)
EVENT = TicketDispatched(
    event_id="SQ-20261123-000001:dispatched", ticket_no="SQ-20261123-000001",
    occurred_at=START, intake_at=T0, department="construction", severity=Severity.GENERAL,
    sign_for_due=START + timedelta(hours=4), resolution_due=START + timedelta(hours=100),
)


def test_four_timers_warning_at_ninety_percent_and_breach_at_due() -> None:
    timers = timers_for(EVENT, 0.9)
    assert [(t.step, t.kind, t.fire_at, t.due_at) for t in timers] == [
        ("sign_for", "warning", START + timedelta(hours=3.6), EVENT.sign_for_due),
        ("sign_for", "breach", EVENT.sign_for_due, EVENT.sign_for_due),
        ("resolution", "warning", START + timedelta(hours=90), EVENT.resolution_due),
        ("resolution", "breach", EVENT.resolution_due, EVENT.resolution_due),
    ]
    assert {t.department for t in timers} == {"construction"}
    assert {t.intake_at for t in timers} == {T0}


def test_timer_ids_are_unique_and_stable() -> None:
    ids = [t.id for t in timers_for(EVENT, 0.9)]
    assert ids == [
        "SQ-20261123-000001:sign_for:warning",
        "SQ-20261123-000001:sign_for:breach",
        "SQ-20261123-000001:resolution:warning",
        "SQ-20261123-000001:resolution:breach",
    ]
    assert ids == [t.id for t in timers_for(EVENT, 0.9)]


def test_warn_ratio_is_honoured() -> None:
    warning = timers_for(EVENT, 0.5)[0]
    assert warning.fire_at == START + timedelta(hours=2)


def _timer(kind: str) -> Timer:
    return next(t for t in timers_for(EVENT, 0.9) if t.kind == kind and t.step == "sign_for")


def test_warning_fired_before_due_has_negative_lateness() -> None:
    timer = _timer("warning")
    now = timer.fire_at + timedelta(seconds=5)
    event = fired_event(timer, now)
    assert isinstance(event, SlaWarning)
    assert event.type == "sla.warning"
    assert event.lateness_seconds == pytest.approx(-(0.4 * 3600 - 5))
    assert (event.step, event.department, event.due_at) == (
        "sign_for", "construction", EVENT.sign_for_due)
    assert event.event_id == timer.id
    assert event.occurred_at == now


def test_breach_fired_after_due_has_positive_lateness() -> None:
    timer = _timer("breach")
    event = fired_event(timer, timer.due_at + timedelta(minutes=3))
    assert isinstance(event, SlaBreached)
    assert event.type == "sla.breached"
    assert event.lateness_seconds == 180.0
    assert event.intake_at == T0
