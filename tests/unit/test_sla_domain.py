"""SLA clocks recomputed from the lifecycle log, the timers they need and the events they fire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.sla_monitor.domain import (
    Facts,
    LogEntry,
    compute_clocks,
    fired_event,
    kind_of,
    merge_log,
    timers_for_clocks,
)
from shared.calendar import BusinessCalendar
from shared.contracts import SlaBreached, SlaEscalated, SlaWarning, TicketUrged
from shared.sla import load_policies

pytestmark = pytest.mark.unit

POL = load_policies()
CAL = BusinessCalendar()
# Monday 23 Nov 2026 10:00 Asia/Shanghai
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
FACTS = Facts(ticket_no="SQ-1", intake_at=T0, profile="government_hotline", severity="major",
              department="construction")
SUP = {"construction": "city_gov"}


def d(kind: str, minutes: float, **kw: object) -> LogEntry:
    return LogEntry(kind=kind, at=T0 + timedelta(minutes=minutes), **kw)  # type: ignore[arg-type]


def clocks(log: list[LogEntry], facts: Facts = FACTS):  # type: ignore[no-untyped-def]
    return compute_clocks(facts, log, POL, CAL)


def test_dispatch_starts_sign_for_first_response_and_resolution() -> None:
    c = clocks([d("dispatched", 2)])
    start = T0 + timedelta(minutes=2)
    assert c.rule == "major"
    assert c.due == {"sign_for": start + timedelta(hours=1),
                     "first_response": T0 + timedelta(hours=24),
                     "resolution": start + timedelta(hours=48)}
    assert c.warn["sign_for"] == start + timedelta(minutes=54)
    assert c.warn["resolution"] == start + timedelta(hours=48 * 0.9)


def test_working_time_rule_for_general_orders() -> None:
    facts = Facts(**FACTS.__dict__ | {"severity": "general"})
    c = clocks([d("dispatched", 0)], facts)
    # 4 working hours from Monday 10:00: 15:30 (lunch 12:00-13:30); 7 working days: Wed 2 Dec 10:00
    assert c.due["sign_for"] == datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
    assert c.due["resolution"] == datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def test_signing_stops_the_sign_for_clock() -> None:
    assert "sign_for" not in clocks([d("dispatched", 2), d("signed", 20)]).due


def test_redispatch_after_return_restarts_sign_for() -> None:
    log = [d("dispatched", 2), d("signed", 20), d("returned", 30)]
    assert "sign_for" not in clocks(log).due
    c = clocks([*log, d("dispatched", 90, department="water")])
    assert c.due["sign_for"] == T0 + timedelta(minutes=90, hours=1)
    assert c.department == "water"
    # the resolution clock still runs from the first dispatch of the round
    assert c.due["resolution"] == T0 + timedelta(minutes=2, hours=48)


def test_transfer_restarts_sign_for_for_the_new_department() -> None:
    c = clocks([d("dispatched", 2), d("transferred", 40, department="water")])
    assert (c.department, c.due["sign_for"]) == ("water", T0 + timedelta(minutes=40, hours=1))


def test_suspension_pauses_and_resume_shifts_every_deadline() -> None:
    log = [d("dispatched", 2), d("signed", 10), d("suspended", 60)]
    c = clocks(log)
    assert c.suspended and "resolution" not in c.due and "first_response" not in c.due
    c = clocks([*log, d("resumed", 60 + 300)])
    assert c.due["resolution"] == T0 + timedelta(minutes=2 + 300, hours=48)
    assert c.due["first_response"] == T0 + timedelta(minutes=300, hours=24)


def test_recomputation_is_order_independent_and_idempotent() -> None:
    log = [d("dispatched", 2), d("suspended", 60), d("resumed", 120), d("suspended", 200),
           d("resumed", 260)]
    a = clocks(log)
    assert clocks(list(reversed(log))) == a
    assert clocks(log + log) == a
    assert a.due["resolution"] == T0 + timedelta(minutes=2 + 120, hours=48)
    assert merge_log(log, log) == merge_log(log)


def test_suspension_in_working_time_counts_only_working_hours() -> None:
    facts = Facts(**FACTS.__dict__ | {"severity": "general"})
    # suspended Monday 15:00 .. Tuesday 10:00 local: 2.5 + 1 = 3.5 working hours paused
    log = [d("dispatched", 0), d("signed", 5),
           LogEntry("suspended", datetime(2026, 11, 23, 7, 0, tzinfo=UTC)),
           LogEntry("resumed", datetime(2026, 11, 24, 2, 0, tzinfo=UTC))]
    c = clocks(log, facts)
    # 7 working days from Mon 10:00 = Wed 2 Dec 10:00; plus 3.5 h -> Wed 2 Dec 15:00 local
    assert c.due["resolution"] == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)


def test_approved_extension_moves_the_resolution_deadline() -> None:
    new_due = T0 + timedelta(days=5)
    c = clocks([d("dispatched", 2), d("extension_approved", 600, new_due=new_due)])
    assert c.due["resolution"] == new_due
    approved = T0 + timedelta(minutes=600)
    assert c.warn["resolution"] == approved + (new_due - approved) * 0.9
    # a suspension after the approval still pauses the extended clock
    c = clocks([d("dispatched", 2), d("extension_approved", 600, new_due=new_due),
                d("suspended", 700), d("resumed", 760)])
    assert c.due["resolution"] == new_due + timedelta(minutes=60)


def test_reply_stops_resolution_and_starts_revisit_close_stops_all() -> None:
    c = clocks([d("dispatched", 2), d("signed", 5), d("replied", 300)])
    assert set(c.due) == {"revisit"}
    assert c.due["revisit"] == T0 + timedelta(minutes=300, hours=168)
    assert clocks([d("dispatched", 2), d("replied", 300), d("closed", 900)]).due == {}


def test_reopen_starts_a_new_round() -> None:
    log = [d("dispatched", 2), d("replied", 300), d("reopened", 2000), d("dispatched", 2001)]
    c = clocks(log)
    assert c.due["resolution"] == T0 + timedelta(minutes=2001, hours=48)
    assert "first_response" not in c.due  # the first answer was given


def test_upgrades_general_after_a_month_and_important_open_three_months() -> None:
    facts = Facts(**FACTS.__dict__ | {"severity": "general"})
    c = clocks([d("dispatched", 0)], facts)
    assert c.upgrade_at == T0 + timedelta(days=30)
    up = clocks([d("dispatched", 0), LogEntry("upgraded", T0 + timedelta(days=30),
                                                severity="major")], facts)
    assert (up.severity, up.rule, up.upgrade_at) == ("major", "major", None)
    imp = Facts(**FACTS.__dict__ | {"severity": "important"})
    replied = clocks([d("dispatched", 0), d("replied", 60)], imp)
    assert replied.upgrade_at == T0 + timedelta(days=90)
    assert clocks([d("dispatched", 0)]).upgrade_at is None  # major already


def test_timers_warning_breach_escalation_and_decaying_urging() -> None:
    c = clocks([d("dispatched", 2), d("signed", 10)])
    timers = timers_for_clocks(FACTS, c, 3, POL, SUP)
    res = [t for t in timers if t.step == "resolution"]
    due = c.due["resolution"]
    assert [(t.kind, t.fire_at - due) for t in res] == [
        ("warning", c.warn["resolution"] - due), ("breach", timedelta(0)),
        ("escalate1", timedelta(hours=2)), ("escalate2", timedelta(hours=24)),
        ("urge1", timedelta(hours=1)), ("urge2", timedelta(hours=3)),
        ("urge3", timedelta(hours=7)), ("urge4", timedelta(hours=15)),
    ]
    assert [t.escalated_to for t in res if t.kind.startswith("escalate")] == [
        "city_gov", "leadership"]
    assert res[0].id == "SQ-1:g3:resolution:warning"
    assert len({t.id for t in timers}) == len(timers)
    # first_response is not announced by default: only warning and breach are timed
    assert {t.kind for t in timers if t.step == "first_response"} == {"warning", "breach"}


def test_fired_events_carry_step_deadline_and_lateness() -> None:
    c = clocks([d("dispatched", 2)])
    timers = {t.kind: t for t in timers_for_clocks(FACTS, c, 1, POL, SUP)
              if t.step == "sign_for"}
    w = fired_event(timers["warning"], timers["warning"].fire_at + timedelta(seconds=5))
    assert isinstance(w, SlaWarning)
    assert w.lateness_seconds == pytest.approx(-(6 * 60 - 5))
    b = fired_event(timers["breach"], c.due["sign_for"] + timedelta(minutes=3))
    assert isinstance(b, SlaBreached) and b.lateness_seconds == 180.0
    assert b.event_id == timers["breach"].id and b.due_at == c.due["sign_for"]
    e = fired_event(timers["escalate1"], timers["escalate1"].fire_at)
    assert isinstance(e, SlaEscalated) and (e.level, e.escalated_to) == (1, "city_gov")
    assert e.lateness_seconds == 7200
    u = fired_event(timers["urge2"], timers["urge2"].fire_at)
    assert isinstance(u, TicketUrged) and u.urged_by == "sla_monitor"


def test_history_actions_and_event_types_map_to_kinds() -> None:
    assert kind_of("ticket.signed") == "signed"
    assert kind_of("sign") == "signed"
    assert kind_of("suspend") == "suspended"
    assert kind_of("classify") is None


@pytest.mark.parametrize(("profile", "severity", "level", "rule", "resolution_h"), [
    ("government_hotline", "urgent", None, "urgent", 24),
    ("government_hotline", "general", None, "general", 49),
    ("property_management", "major", None, "major", 240),
    ("property_management", "important", None, "important", 72),
    ("property_management", "general", None, "minor", 48),
    ("telecom", "general", None, "general", 24),
    ("telecom", "general", "provincial", "provincial", 48),
    ("telecom", "important", "national", "national", 72),
    ("unknown", "general", None, "general", 49),
])
def test_shipped_policies_reproduce_the_domain_tables(profile: str, severity: str,
                                                      level: str | None, rule: str,
                                                      resolution_h: float) -> None:
    r = POL.rule_for(profile, severity=severity, level=level)
    assert (r.name, r.steps["resolution"].hours) == (rule, resolution_h)
    assert set(r.steps) == {"sign_for", "first_response", "resolution", "revisit"}
