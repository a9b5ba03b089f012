"""Report figures from aggregate rows: periods and their comparisons, rates, league, top lists."""

from __future__ import annotations

from datetime import date

import pytest

from suqiu.services.analytics.domain.report import build_report, period_for, rate, totals
from suqiu.services.analytics.reporting import partitions

pytestmark = pytest.mark.unit


def test_periods_and_their_comparisons() -> None:
    nov = period_for(month="2026-11")
    assert (nov.start, nov.end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert nov.previous().start == date(2026, 10, 1) and nov.previous().end == date(2026, 10, 31)
    assert nov.last_year().start == date(2025, 11, 1)
    assert period_for(month="2026-03").previous().end == date(2026, 2, 28)
    week = period_for(week="2026-W47")
    assert (week.start, week.end) == (date(2026, 11, 16), date(2026, 11, 22))
    assert week.previous().start == date(2026, 11, 9) and week.last_year().start.weekday() == 0
    rng = period_for(start=date(2026, 11, 1), end=date(2026, 12, 31))
    assert rng.months() == ["2026-11", "2026-12"]
    assert partitions(rng) == ["m|2026-11", "m|2026-12"]
    assert len(partitions(week)) == 7 and partitions(week)[0] == "d|2026-11-16"
    with pytest.raises(ValueError):
        period_for(start=date(2026, 11, 2), end=date(2026, 11, 1))


def test_rates_and_the_league_table() -> None:
    rows = [
        {"department": "a", "category": "城乡建设", "district": "西湖区", "channel": "hotline",
         "received": 10, "valid": 9, "dispatched": 9, "signed": 8, "signed_on_time": 6,
         "replied": 8, "replied_on_time": 8, "resolved": 6, "sat_yes": 5, "sat_no": 1,
         "reopened": 1, "returned": 1},
        {"department": "b", "category": "交通运输", "district": "上城区", "channel": "web",
         "received": 4, "valid": 4, "dispatched": 4, "signed": 4, "signed_on_time": 4,
         "replied": 2, "replied_on_time": 1, "sat_very": 2},
        {"department": "-", "channel": "hotline", "received": 3, "invalid": 3},
    ]
    t = totals(rows)
    assert t["received"] == 17 and t["invalid"] == 3
    assert rate(t, "on_time_sign") == pytest.approx(10 / 12)
    assert rate(t, "satisfaction") == pytest.approx(7 / 8)
    assert rate(totals([]), "on_time_sign") is None
    r = build_report(period_for(month="2026-11"), rows, rows[:1], [], [], {},
                     department_names={"a": "甲局"})
    assert [row[0] for row in r.league.rows] == ["b", "甲局"]  # 100 % satisfied first
    assert r.league.rows[1][2] == pytest.approx(6 / 8)  # a: on-time sign-for
    assert r.categories.rows[0][:2] == ["城乡建设", 9] and r.categories.rows[0][3] == 9
    assert r.totals["previous"]["received"] == 10 and r.rates["last_year"]["resolution"] is None
    assert [row[0] for row in r.channels.rows] == ["热线", "网站"]
