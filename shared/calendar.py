"""The business calendar: working hours with a lunch break, Asia/Shanghai, Chinese holidays and 调休.

Public holidays and the weekend days that become working days come from the chinese-calendar
package (it knows 2004-2026 in 1.11.0); an operator override file adds years it does not know
yet. Every function here is pure: time is passed in, nothing is read from the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

__all__ = ["BusinessCalendar", "load_calendar"]

DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_PERIODS: tuple[tuple[time, time], ...] = ((time(9, 0), time(12, 0)),
                                                   (time(13, 30), time(17, 30)))
MAX_DAYS = 3660  # arithmetic never walks further than ten years


@dataclass(frozen=True)
class BusinessCalendar:
    """Working periods of a working day, in `tz`; which days are working days.

    `holidays` and `workdays` override the package: a date in `holidays` is never a working
    day, a date in `workdays` always is (调休 Saturdays). Other dates: the package decides for
    the years it knows, Monday-Friday otherwise.
    """

    tz: str = DEFAULT_TZ
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    use_package: bool = True

    def __post_init__(self) -> None:
        if not self.periods:
            raise ValueError("a calendar needs at least one working period")
        last = time(0, 0)
        for i, (a, b) in enumerate(self.periods):
            if not a < b or (i and a < last):
                raise ValueError(f"working periods must be ordered and not overlap: {self.periods}")
            last = b

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def is_working_day(self, day: date) -> bool:
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        if self.use_package:
            import chinese_calendar

            try:
                return bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                pass  # a year the package does not know and no override covers: plain weekdays
        return day.weekday() < 5

    def _day_periods(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_working_day(day):
            return []
        z = self.zone
        return [(datetime.combine(day, a, z), datetime.combine(day, b, z)) for a, b in self.periods]

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of working time after `start` has elapsed.

        Out-of-hours starts count from the next working period. A zero duration returns
        `start` unchanged. The result is in UTC.
        """
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if duration <= timedelta(0):
            return start.astimezone(UTC)
        remaining = duration
        local = start.astimezone(self.zone)
        day = local.date()
        for _ in range(MAX_DAYS):
            for a, b in self._day_periods(day):
                if local >= b:
                    continue
                begin = max(a, local)
                if begin + remaining <= b:
                    return (begin + remaining).astimezone(UTC)
                remaining -= b - begin
            day += timedelta(days=1)
        raise ValueError(f"{duration} of working time does not fit in {MAX_DAYS} days")

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time in [start, end); zero when end <= start."""
        if end <= start:
            return timedelta(0)
        s = start.astimezone(self.zone)
        e = end.astimezone(self.zone)
        total = timedelta(0)
        day = s.date()
        while day <= e.date():
            for a, b in self._day_periods(day):
                lo, hi = max(a, s), min(b, e)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def working_hours_per_day(self) -> float:
        return sum((datetime.combine(date(2000, 1, 3), b) - datetime.combine(date(2000, 1, 3), a)
                    ).total_seconds() for a, b in self.periods) / 3600

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """`days` working days of `working_hours_per_day` hours each (7 working days etc.)."""
        return self.add_working_time(start, timedelta(hours=days * self.working_hours_per_day()))


def _time(text: str) -> time:
    return time.fromisoformat(str(text))


def load_calendar(path: str | Path | None = None, *, tz: str = DEFAULT_TZ,
                  periods: list[tuple[str, str]] | None = None) -> BusinessCalendar:
    """The calendar with the operator's override file (missing file: no overrides)."""
    holidays: set[date] = set()
    workdays: set[date] = set()
    if path is not None and Path(path).exists():
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        holidays = {date.fromisoformat(str(d)) for d in data.get("holidays") or []}
        workdays = {date.fromisoformat(str(d)) for d in data.get("workdays") or []}
        tz = data.get("timezone", tz)
        if data.get("working_periods"):
            periods = [tuple(p) for p in data["working_periods"]]  # type: ignore[misc]
        if holidays & workdays:
            raise ValueError(f"{path}: dates both holiday and workday: {sorted(holidays & workdays)}")
    per = (tuple((_time(a), _time(b)) for a, b in periods) if periods else DEFAULT_PERIODS)
    return BusinessCalendar(tz=tz, periods=per, holidays=frozenset(holidays),
                            workdays=frozenset(workdays))
