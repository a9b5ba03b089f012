"""Clock arithmetic: a limit counted in calendar or working time, stopped during pauses."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from suqiu.shared.calendar import BusinessCalendar
from suqiu.shared.sla.policy import Basis, StepLimit

__all__ = ["add_hours", "due_after", "moved_by_pauses", "warning_time"]


def add_hours(start: datetime, hours: float) -> datetime:
    """`hours` of calendar time after `start`."""
    return start + timedelta(hours=hours)


def warning_time(start: datetime, due: datetime, ratio: float) -> datetime:
    """The moment `ratio` of the time between `start` and `due` has passed (预警)."""
    return start + (due - start) * ratio


def _elapsed(a: datetime, b: datetime, basis: Basis, cal: BusinessCalendar) -> timedelta:
    return cal.working_time_between(a, b) if basis == "working" else max(b - a, timedelta(0))


def _add(a: datetime, d: timedelta, basis: Basis, cal: BusinessCalendar) -> datetime:
    return cal.add_working_time(a, d) if basis == "working" else a + d


def due_after(start: datetime, limit: StepLimit, cal: BusinessCalendar,
              pauses: Iterable[tuple[datetime, datetime | None]] = (),
              extra: timedelta = timedelta(0)) -> datetime | None:
    """The deadline of a clock started at `start` that stops during `pauses`.

    A pause without an end (still suspended) means no deadline yet: None. Pauses before
    `start` are ignored; overlapping ones are merged by walking in order. `extra` lengthens the
    limit (in the same basis).
    """
    remaining = timedelta(hours=limit.hours) + extra
    cursor = start
    for p_start, p_end in sorted(pauses, key=lambda p: p[0]):
        if p_end is not None and p_end <= cursor:
            continue
        if p_start > cursor:
            run = _elapsed(cursor, p_start, limit.basis, cal)
            if run >= remaining:
                return _add(cursor, remaining, limit.basis, cal)
            remaining -= run
        if p_end is None:
            return None
        cursor = max(cursor, p_end)
    return _add(cursor, remaining, limit.basis, cal)


def moved_by_pauses(due: datetime, start: datetime,
                    pauses: Iterable[tuple[datetime, datetime | None]]) -> datetime | None:
    """A fixed deadline (an approved extension) pushed back by the pauses after `start`."""
    for p_start, p_end in sorted(pauses, key=lambda p: p[0]):
        if p_end is not None and p_end <= start:
            continue
        if p_start >= due:
            break
        if p_end is None:
            return None
        due += p_end - max(p_start, start)
    return due
