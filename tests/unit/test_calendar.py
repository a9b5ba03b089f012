"""The business calendar: working time across weekends, holiday weeks, 调休 days and lunch."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from suqiu.shared.calendar import BusinessCalendar, load_calendar, package_years
from suqiu.shared.errors import ConfigError

pytestmark = pytest.mark.unit

SH = ZoneInfo("Asia/Shanghai")
CAL = BusinessCalendar()  # 09:00-12:00, 13:30-17:30 Asia/Shanghai, chinese-calendar


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.mark.parametrize(("day", "working"), [
    (date(2025, 1, 1), False),    # 元旦
    (date(2025, 1, 26), True),    # Sunday 调休 before 春节
    (date(2025, 1, 28), False),   # 春节 eve
    (date(2025, 2, 4), False),    # 春节 (8 days)
    (date(2025, 2, 5), True),
    (date(2025, 2, 8), True),     # Saturday 调休
    (date(2025, 4, 27), True),    # Sunday 调休 before 劳动节
    (date(2025, 5, 5), False),
    (date(2025, 9, 28), True),    # Sunday 调休 before 国庆
    (date(2025, 10, 8), False),   # 国庆 + 中秋, 8 days
    (date(2025, 10, 11), True),   # Saturday 调休
    (date(2025, 10, 12), False),  # ordinary Sunday
    (date(2026, 1, 2), False),    # 元旦 2026
    (date(2026, 1, 4), True),     # Sunday 调休
    (date(2026, 2, 14), True),    # Saturday 调休 before 春节
    (date(2026, 2, 16), False),   # 春节 2026
    (date(2026, 2, 23), False),
    (date(2026, 2, 24), True),
    (date(2026, 2, 28), True),    # Saturday 调休
    (date(2026, 10, 7), False),   # 国庆 2026
    (date(2026, 10, 10), True),   # Saturday 调休
    (date(2026, 11, 23), True),   # ordinary Monday
    (date(2026, 11, 28), False),  # ordinary Saturday
])
def test_working_days_2025_2026(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


@pytest.mark.parametrize(("start", "hours", "due"), [
    # within the morning
    (sh(2026, 11, 23, 9, 0), 2, sh(2026, 11, 23, 11, 0)),
    # across the lunch break 12:00-13:30
    (sh(2026, 11, 23, 11, 0), 2, sh(2026, 11, 23, 14, 30)),
    # arriving during lunch: counts from 13:30
    (sh(2026, 11, 23, 12, 40), 1, sh(2026, 11, 23, 14, 30)),
    # arriving before opening / after closing
    (sh(2026, 11, 23, 6, 0), 1, sh(2026, 11, 23, 10, 0)),
    (sh(2026, 11, 23, 20, 0), 1, sh(2026, 11, 24, 10, 0)),
    # a full working day is 7 h
    (sh(2026, 11, 23, 9, 0), 7, sh(2026, 11, 23, 17, 30)),
    (sh(2026, 11, 23, 9, 0), 7.5, sh(2026, 11, 24, 9, 30)),
    # Friday afternoon over the weekend
    (sh(2026, 11, 27, 16, 30), 2, sh(2026, 11, 30, 10, 0)),
    # an order arriving on Saturday
    (sh(2026, 11, 28, 10, 0), 1, sh(2026, 11, 30, 10, 0)),
    # 国庆 2025: Tuesday 30 Sept afternoon -> Thursday 9 Oct
    (sh(2025, 9, 30, 17, 0), 1, sh(2025, 10, 9, 9, 30)),
    # 调休 Sunday 28 Sept 2025 is a working day
    (sh(2025, 9, 27, 10, 0), 1, sh(2025, 9, 28, 10, 0)),
    # 调休 Saturday 11 Oct 2025
    (sh(2025, 10, 10, 17, 0), 1, sh(2025, 10, 11, 9, 30)),
    # 春节 2026: Friday 13 Feb evening -> 调休 Saturday 14 Feb, then after the holiday week
    (sh(2026, 2, 13, 18, 0), 1, sh(2026, 2, 14, 10, 0)),
    (sh(2026, 2, 14, 17, 0), 1, sh(2026, 2, 24, 9, 30)),
    # year boundary: 31 Dec 2025 -> 元旦 1 Jan 2026 (holiday to 3 Jan) -> 调休 Sunday 4 Jan
    (sh(2025, 12, 31, 17, 0), 1, sh(2026, 1, 4, 9, 30)),
    # 7 working days (49 h) from Monday 23 Nov 2026 09:00: Tuesday 1 Dec 17:30
    (sh(2026, 11, 23, 9, 0), 49, sh(2026, 12, 1, 17, 30)),
    # 3 working days over 国庆 2026 (1-7 Oct; 调休 Saturday 10 Oct)
    (sh(2026, 9, 30, 9, 0), 21, sh(2026, 10, 9, 17, 30)),
    (sh(2026, 9, 30, 9, 0), 28, sh(2026, 10, 10, 17, 30)),
])
def test_add_working_time(start: datetime, hours: float, due: datetime) -> None:
    assert CAL.add_working_time(start, timedelta(hours=hours)) == due


@pytest.mark.parametrize(("start", "hours"), [
    (sh(2026, 11, 23, 11, 15), 3.25), (sh(2025, 9, 30, 17, 0), 5),
    (sh(2026, 2, 13, 18, 0), 30), (sh(2025, 12, 31, 12, 10), 10),
])
def test_working_time_between_inverts_add(start: datetime, hours: float) -> None:
    due = CAL.add_working_time(start, timedelta(hours=hours))
    assert CAL.working_time_between(start, due) == timedelta(hours=hours)


def test_results_are_utc_and_zero_is_identity() -> None:
    start = sh(2026, 11, 28, 10, 0)
    assert CAL.add_working_time(start, timedelta(0)) == start
    assert CAL.add_working_time(start, timedelta(hours=1)).utcoffset() == timedelta(0)


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_time(datetime(2026, 1, 5, 9), timedelta(hours=1))


def test_unknown_year_falls_back_to_weekdays_and_overrides(tmp_path) -> None:  # type: ignore[no-untyped-def]
    plain = load_calendar(None)
    assert plain.is_working_day(date(2027, 1, 1))          # package does not know 2027
    f = tmp_path / "overrides.yaml"
    f.write_text("holidays: [2027-01-01]\nworkdays: ['2027-01-09']\n", encoding="utf-8")
    cal = load_calendar(f)
    assert not cal.is_working_day(date(2027, 1, 1))
    assert cal.is_working_day(date(2027, 1, 9))            # a Saturday made a working day
    # Friday 31 Dec 2027 is unknown to the package: weekdays work
    assert cal.add_working_time(sh(2026, 12, 31, 17, 0), timedelta(hours=1)) == sh(2027, 1, 4, 9, 30)


def test_override_conflict_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "o.yaml"
    f.write_text("holidays: [2027-01-01]\nworkdays: [2027-01-01]\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_calendar(f)


def test_a_year_without_data_is_a_start_up_error_unless_overrides_cover_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert 2026 in package_years() and 2027 not in package_years()
    plain = load_calendar(None)
    plain.require_year(date(2026, 6, 1))
    with pytest.raises(ConfigError, match="no holiday data for 2027"):
        plain.require_year(date(2027, 1, 1))
    assert plain.last_known_day(date(2026, 11, 30)) == date(2026, 12, 31)
    f = tmp_path / "o.yaml"
    f.write_text("covers: [2027]\nholidays: [2027-01-01]\n", encoding="utf-8")
    covered = load_calendar(f)
    covered.require_year(date(2027, 1, 1))
    assert covered.last_known_day(date(2026, 11, 30)) == date(2027, 12, 31)
    assert not covered.is_working_day(date(2027, 1, 1))
    assert covered.is_working_day(date(2027, 1, 4))
    f.write_text("covers: [2028]\nholidays: [2027-01-01]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="covers 2028 but lists no holiday"):
        load_calendar(f)
    f.write_text("holidays: [not-a-date]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="holidays"):
        load_calendar(f)


def test_shipped_overrides_cover_2027_with_spring_festival() -> None:
    shipped = load_calendar("deploy/config/calendar-overrides.yaml")
    shipped.require_year(date(2027, 3, 1))
    assert not shipped.is_working_day(date(2027, 2, 8))      # 春节 Monday (placeholder)
    assert shipped.is_working_day(date(2027, 2, 20))         # 调休 Saturday (placeholder)


def test_custom_periods_and_shipped_override_file() -> None:
    cal = BusinessCalendar(periods=((time(8, 30), time(12, 0)), (time(14, 0), time(18, 0))))
    assert cal.working_hours_per_day() == 7.5
    assert cal.add_working_time(sh(2026, 11, 23, 11, 0), timedelta(hours=2)) == sh(2026, 11, 23, 15, 0)
    shipped = load_calendar("deploy/config/calendar-overrides.yaml")
    assert shipped.is_working_day(date(2026, 2, 14))
    with pytest.raises(ValueError):
        BusinessCalendar(periods=((time(13, 0), time(12, 0)),))
