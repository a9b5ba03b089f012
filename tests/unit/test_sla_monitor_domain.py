"""SLA monitor rules: timers from stored deadlines, announced once per (order, step, kind, due)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from suqiu.services.sla_monitor.domain import StepTimer, due_now, event_for, plan
from suqiu.services.sla_monitor.domain import desired as desired_timers
from suqiu.shared.contracts import SlaDeadlines, StepDeadline, TicketStatus, WorkOrder
from suqiu.shared.sla import default_book
from tests.factories import T0, make_order, small_catalogue

pytestmark = pytest.mark.unit

CAT = small_catalogue()
POL = default_book(CAT).policies
H = timedelta(hours=1)
SUP = {"urban_mgmt": "construction"}


def _order(**steps: tuple[datetime, datetime | None]) -> WorkOrder:
    sla = SlaDeadlines(policy_version="v", rule="general", severity="major", steps={
        s: StepDeadline(started_at=a, due_at=d, warn_at=a + (d - a) * 0.9 if d else None)
        for s, (a, d) in steps.items()})
    return make_order(TicketStatus.SIGNED).model_copy(update={"sla": sla})


def _plan(order: WorkOrder, existing: dict[str, StepTimer], now: datetime
          ) -> tuple[list[StepTimer], list[str]]:
    return plan(order, existing, now, POL, SUP, CAT.triage_department)


def _fire_all(t: StepTimer, until: datetime) -> list[str]:
    """Every kind announced while the scanner runs until `until` (fires at each fire_at)."""
    out: list[str] = []
    while t.fire_at is not None and t.fire_at <= until:
        announce, t = due_now(t, t.fire_at, POL)
        out += [m.kind for m in announce]
    return out


def test_one_timer_per_running_step_and_unchanged_clocks_are_not_rewritten() -> None:
    order = _order(sign_for=(T0, T0 + H), resolution=(T0, T0 + 48 * H))
    writes, deletes = _plan(order, {}, T0)
    assert sorted(t.step for t in writes) == ["resolution", "sign_for"] and deletes == []
    existing = {t.step: t for t in writes}
    assert _plan(order, existing, T0 + H) == ([], [])          # redelivery: nothing written
    signed = _order(resolution=(T0, T0 + 48 * H))
    writes, deletes = _plan(signed, existing, T0 + H)
    assert writes == [] and deletes == [existing["sign_for"].id]


def test_each_kind_is_announced_once_and_a_move_reannounces_only_what_it_newly_causes() -> None:
    order = _order(resolution=(T0, T0 + 10 * H))
    [t] = _plan(order, {}, T0)[0]
    assert _fire_all(t, T0 + 10.5 * H) == ["warning", "breach"]
    _, t = due_now(t, T0 + 10.5 * H, POL)
    # a suspension of 1 h moves the deadline: warning and breach of the new deadline are past
    # too, so nothing is announced again
    moved = _order(resolution=(T0, T0 + 11 * H))
    [m] = _plan(moved, {"resolution": t}, T0 + 11.5 * H)[0]
    assert set(m.done) >= {"warning", "breach"}
    announce, _ = due_now(m, T0 + 11.5 * H, POL)
    assert announce == []
    # an extension to a future deadline: its warning and breach will be announced when due
    extended = _order(resolution=(T0, T0 + 30 * H))
    [e] = _plan(extended, {"resolution": t}, T0 + 12 * H)[0]
    assert "breach" not in e.done
    assert _fire_all(e, T0 + 30 * H)[:2] == ["warning", "breach"]


def test_event_ids_carry_order_step_kind_and_deadline() -> None:
    order = _order(sign_for=(T0, T0 + H))
    [t] = _plan(order, {}, T0)[0]
    announce, _ = due_now(t, T0 + 2 * H, POL)
    ids = [event_for(t, m, T0 + 2 * H).event_id for m in announce]
    assert ids[0] == "SQ-20261123-000001:sign_for:breach:20261123T030000Z"
    assert "SQ-20261123-000001:sign_for:warning:20261123T030000Z" not in ids  # breach is due
    later = _order(sign_for=(T0 + 5 * H, T0 + 6 * H))  # reassigned: a new clock, a new id
    [t2] = _plan(later, {"sign_for": t}, T0 + 5 * H)[0]
    assert t2.done == ()


def test_escalations_go_up_the_ladder_and_centre_steps_go_to_the_centre() -> None:
    order = _order(sign_for=(T0, T0 + H), feedback=(T0, T0 + 2 * H))
    timers = desired_timers(order, POL, SUP, CAT.triage_department)
    assert timers["feedback"].department == "triage"
    sign = timers["sign_for"]
    announce, _ = due_now(sign, T0 + 30 * H, POL)
    esc = [m for m in announce if m.kind.startswith("escalate")]
    assert [(m.kind, m.to) for m in esc] == [("escalate1", "leadership"),
                                             ("escalate2", "leadership")]


def test_a_suspended_step_has_no_timer() -> None:
    order = _order(resolution=(T0, None))
    assert _plan(order, {}, T0) == ([], [])
