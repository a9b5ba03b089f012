"""The business calendar: working hours with a lunch break, Asia/Shanghai, Chinese holidays and 调休.

Public holidays and the weekend days that become working days come from the chinese-calendar
package (it knows 2004-2026 in 1.11.0); an operator override file adds years it does not know
yet (`covers: [2027]` declares that the file holds that year's whole schedule). A year neither
knows is refused at start-up (`require_year`, a ConfigError) instead of silently counting
元旦 and 春节 as working days; `last_known_day` feeds a gauge and an alert 60 days ahead.
Every function here is pure: time is passed in, nothing is read from the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from suqiu.shared.errors import ConfigError

__all__ = ["BusinessCalendar", "load_calendar", "package_years"]

DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_PERIODS: tuple[tuple[time, time], ...] = ((time(9, 0), time(12, 0)),
                                                   (time(13, 30), time(17, 30)))
MAX_DAYS = 3660  # arithmetic never walks further than ten years


def package_years() -> frozenset[int]:
    """The years the chinese-calendar package has holiday data for."""
    from chinese_calendar.constants import holidays, workdays

    days = [*holidays, *workdays]
    return frozenset(range(min(days).year, max(days).year + 1))


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
    covers: frozenset[int] = field(default_factory=frozenset)  # years the overrides hold whole

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

    def known_years(self) -> frozenset[int]:
        """Years whose holidays and 调休 days are known (package or operator overrides)."""
        return (package_years() if self.use_package else frozenset()) | self.covers

    def last_known_day(self, today: date) -> date | None:
        """The last day of the run of known years that starts with `today`'s (None: unknown)."""
        years = self.known_years()
        year = today.year
        if year not in years:
            return None
        while year + 1 in years:
            year += 1
        return date(year, 12, 31)

    def require_year(self, today: date, source: str = "calendar") -> None:
        """ConfigError unless `today`'s year is known: start-up refuses a guessed calendar."""
        if today.year not in self.known_years():
            known = sorted(self.known_years())
            raise ConfigError(source, f"no holiday data for {today.year} (known: "
                              f"{known[0] if known else '-'}..{known[-1] if known else '-'}); "
                              f"add the year's holidays and 调休 workdays to the calendar "
                              f"overrides with `covers: [{today.year}]`")

    def is_working_day(self, day: date) -> bool:
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        if day.year in self.covers:
            return day.weekday() < 5
        if self.use_package:
            import chinese_calendar

            try:
                return bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                pass  # not known (start-up refused the current year): plain weekdays
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


def _dates(path: object, data: dict[str, object], key: str) -> set[date]:
    try:
        return {date.fromisoformat(str(d)) for d in data.get(key) or []}  # type: ignore[attr-defined]
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(path), f"{key}: {exc}") from exc


def load_calendar(path: str | Path | None = None, *, tz: str = DEFAULT_TZ,
                  periods: list[tuple[str, str]] | None = None) -> BusinessCalendar:
    """The calendar with the operator's override file (missing file: no overrides)."""
    holidays: set[date] = set()
    workdays: set[date] = set()
    covers: set[int] = set()
    if path is not None and Path(path).exists():
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(str(path), f"cannot read calendar overrides: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(str(path), "calendar overrides must be a mapping")
        holidays = _dates(path, data, "holidays")
        workdays = _dates(path, data, "workdays")
        try:
            covers = {int(y) for y in data.get("covers") or []}
        except (TypeError, ValueError) as exc:
            raise ConfigError(str(path), f"covers: {exc}") from exc
        tz = data.get("timezone", tz)
        if data.get("working_periods"):
            periods = [tuple(p) for p in data["working_periods"]]
        if holidays & workdays:
            raise ConfigError(str(path), f"dates both holiday and workday: "
                              f"{sorted(holidays & workdays)}")
        for year in covers:
            if not any(d.year == year for d in holidays):
                raise ConfigError(str(path), f"covers {year} but lists no holiday in it")
    try:
        per = (tuple((_time(a), _time(b)) for a, b in periods) if periods else DEFAULT_PERIODS)
        return BusinessCalendar(tz=tz, periods=per, holidays=frozenset(holidays),
                                workdays=frozenset(workdays), covers=frozenset(covers))
    except ValueError as exc:
        raise ConfigError(str(path or "calendar"), str(exc)) from exc
