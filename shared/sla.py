"""SLA deadline arithmetic shared by the dispatcher (stamps deadlines) and the SLA monitor.

Calendar hours for now; working-time calendars (holidays, 调休, lunch breaks) replace
`add_hours` without changing callers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.catalogue import SlaPolicy
from shared.contracts import Severity, SlaDeadlines

__all__ = ["add_hours", "deadlines_for", "warning_time"]


def add_hours(start: datetime, hours: float) -> datetime:
    """`hours` of calendar time after `start`."""
    return start + timedelta(hours=hours)


def deadlines_for(severity: Severity, start: datetime,
                  policies: dict[str, SlaPolicy]) -> SlaDeadlines:
    """Sign-for and resolution deadlines of an order dispatched at `start`."""
    policy = policies[severity.value]
    return SlaDeadlines(
        policy=severity.value,
        sign_for_due=add_hours(start, policy.sign_for_hours),
        resolution_due=add_hours(start, policy.resolution_hours),
        warn_ratio=policy.warn_ratio,
    )


def warning_time(start: datetime, due: datetime, ratio: float) -> datetime:
    """The moment `ratio` of the time between `start` and `due` has passed (预警)."""
    return start + (due - start) * ratio
